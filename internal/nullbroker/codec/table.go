package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"time"
)

// Table is an AMQP field table. Values use the same Go types as amqp091-go,
// so tables read here compare naturally with what the client sent:
//
//	't' bool      'b' int8     'B' uint8    's' int16   'u' uint16
//	'I' int32     'i' uint32   'l' int64    'f' float32 'd' float64
//	'D' Decimal   'S' string   'A' []any    'T' time.Time
//	'F' Table     'V' nil      'x' []byte
//
// When encoding, int is written as 'I' (int32) like amqp091-go does.
type Table map[string]any

// Decimal is the AMQP decimal type: Value / 10^Scale.
type Decimal struct {
	Scale uint8
	Value int32
}

// maxDepth bounds the nesting of tables and arrays, so hostile input cannot
// exhaust the stack.
const maxDepth = 32

// Table appends t as a field table: a 32-bit byte length, then name/value
// pairs. It panics on a value of a type AMQP cannot carry; tables the broker
// writes are built by the broker itself or were read from the wire.
func (e *Encoder) Table(t Table) {
	at := len(e.Buf)
	e.Long(0) // patched below
	for k, v := range t {
		e.ShortStr(k)
		e.Field(v)
	}
	binary.BigEndian.PutUint32(e.Buf[at:], uint32(len(e.Buf)-at-4))
}

// Field appends one typed field value: a type octet and the value.
func (e *Encoder) Field(v any) {
	switch v := v.(type) {
	case bool:
		e.Octet('t')
		if v {
			e.Octet(1)
		} else {
			e.Octet(0)
		}
	case int8:
		e.Octet('b')
		e.Octet(uint8(v))
	case uint8:
		e.Octet('B')
		e.Octet(v)
	case int16:
		e.Octet('s')
		e.Short(uint16(v))
	case uint16:
		e.Octet('u')
		e.Short(v)
	case int:
		e.Octet('I')
		e.Long(uint32(int32(v)))
	case int32:
		e.Octet('I')
		e.Long(uint32(v))
	case uint32:
		e.Octet('i')
		e.Long(v)
	case int64:
		e.Octet('l')
		e.LongLong(uint64(v))
	case float32:
		e.Octet('f')
		e.Long(math.Float32bits(v))
	case float64:
		e.Octet('d')
		e.LongLong(math.Float64bits(v))
	case Decimal:
		e.Octet('D')
		e.Octet(v.Scale)
		e.Long(uint32(v.Value))
	case string:
		e.Octet('S')
		e.LongStr(v)
	case []byte:
		e.Octet('x')
		e.Long(uint32(len(v)))
		e.Buf = append(e.Buf, v...)
	case time.Time:
		e.Octet('T')
		e.LongLong(uint64(v.Unix()))
	case Table:
		e.Octet('F')
		e.Table(v)
	case []any:
		e.Octet('A')
		at := len(e.Buf)
		e.Long(0)
		for _, item := range v {
			e.Field(item)
		}
		binary.BigEndian.PutUint32(e.Buf[at:], uint32(len(e.Buf)-at-4))
	case nil:
		e.Octet('V')
	default:
		panic(fmt.Sprintf("codec: cannot encode %T in a field table", v))
	}
}

// Table reads a field table. An empty table decodes as an empty, non-nil map.
func (d *Decoder) Table() Table { return d.table(0) }

func (d *Decoder) table(depth int) Table {
	raw := d.LongBytes()
	if d.err != nil {
		return nil
	}
	if depth > maxDepth {
		d.fail(ErrSyntax)
		return nil
	}
	t := make(Table)
	sub := NewDecoder(raw)
	for sub.Len() > 0 && sub.err == nil {
		k := sub.ShortStr()
		v := sub.field(depth)
		t[k] = v
	}
	if sub.err != nil {
		d.fail(sub.err)
		return nil
	}
	return t
}

// field reads one typed field value.
func (d *Decoder) field(depth int) any {
	switch typ := d.Octet(); typ {
	case 't':
		return d.Octet() != 0
	case 'b':
		return int8(d.Octet())
	case 'B':
		return d.Octet()
	case 's':
		return int16(d.Short())
	case 'u':
		return d.Short()
	case 'I':
		return int32(d.Long())
	case 'i':
		return d.Long()
	case 'l':
		return int64(d.LongLong())
	case 'f':
		return math.Float32frombits(d.Long())
	case 'd':
		return math.Float64frombits(d.LongLong())
	case 'D':
		return Decimal{Scale: d.Octet(), Value: int32(d.Long())}
	case 'S':
		return d.LongStr()
	case 'x':
		return append([]byte(nil), d.LongBytes()...)
	case 'T':
		return time.Unix(int64(d.LongLong()), 0)
	case 'F':
		return d.table(depth + 1)
	case 'A':
		raw := d.LongBytes()
		if depth+1 > maxDepth {
			d.fail(ErrSyntax)
		}
		if d.err != nil {
			return nil
		}
		arr := []any{}
		sub := NewDecoder(raw)
		for sub.Len() > 0 && sub.err == nil {
			arr = append(arr, sub.field(depth+1))
		}
		d.fail(sub.err)
		return arr
	case 'V':
		return nil
	default:
		d.fail(ErrSyntax)
		return nil
	}
}

// Equal reports whether two field values are equal, comparing integers of
// any width and signedness by value (a client may send 5 as 'b', 'I' or 'l'
// depending on its library) and everything else with reflect.DeepEqual.
func Equal(a, b any) bool {
	if x, ok := asInt(a); ok {
		y, ok := asInt(b)
		return ok && x == y
	}
	if ta, ok := a.(Table); ok {
		tb, ok := b.(Table)
		if !ok || len(ta) != len(tb) {
			return false
		}
		for k, va := range ta {
			vb, ok := tb[k]
			if !ok || !Equal(va, vb) {
				return false
			}
		}
		return true
	}
	if aa, ok := a.([]any); ok {
		ab, ok := b.([]any)
		if !ok || len(aa) != len(ab) {
			return false
		}
		for i := range aa {
			if !Equal(aa[i], ab[i]) {
				return false
			}
		}
		return true
	}
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return reflect.DeepEqual(a, b)
}

// asInt widens any integer type to int64.
func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int8:
		return int64(v), true
	case uint8:
		return int64(v), true
	case int16:
		return int64(v), true
	case uint16:
		return int64(v), true
	case int32:
		return int64(v), true
	case uint32:
		return int64(v), true
	case int64:
		return v, true
	case int:
		return int64(v), true
	}
	return 0, false
}
