// Package codec encodes and decodes the primitive data types of AMQP 0-9-1:
// octets, big-endian integers, short and long strings, packed bits, field
// tables and the basic class content properties.
//
// It is written for the nullbroker test server and favours simplicity over
// speed: an Encoder appends to a byte slice, and a Decoder reads from one and
// remembers the first error, so a method's arguments can be decoded in a row
// and checked once at the end:
//
//	d := codec.NewDecoder(args)
//	ticket, name := d.Short(), d.ShortStr()
//	if err := d.Err(); err != nil { ... }
package codec

import (
	"encoding/binary"
	"errors"
)

// ErrShort reports input that ended before a value did.
var ErrShort = errors.New("codec: input too short")

// ErrSyntax reports input that is malformed: an unknown field type, a table
// nested too deeply, a length that does not fit.
var ErrSyntax = errors.New("codec: malformed input")

// Encoder appends AMQP values to Buf. The zero value is ready to use.
type Encoder struct {
	Buf []byte
}

// Octet appends one byte.
func (e *Encoder) Octet(v uint8) { e.Buf = append(e.Buf, v) }

// Short appends a 16-bit unsigned integer.
func (e *Encoder) Short(v uint16) { e.Buf = binary.BigEndian.AppendUint16(e.Buf, v) }

// Long appends a 32-bit unsigned integer.
func (e *Encoder) Long(v uint32) { e.Buf = binary.BigEndian.AppendUint32(e.Buf, v) }

// LongLong appends a 64-bit unsigned integer.
func (e *Encoder) LongLong(v uint64) { e.Buf = binary.BigEndian.AppendUint64(e.Buf, v) }

// ShortStr appends a short string: a length octet and at most 255 bytes.
// Longer strings are truncated; AMQP cannot carry them in this type.
func (e *Encoder) ShortStr(s string) {
	if len(s) > 255 {
		s = s[:255]
	}
	e.Buf = append(e.Buf, byte(len(s)))
	e.Buf = append(e.Buf, s...)
}

// LongStr appends a long string: a 32-bit length and the bytes.
func (e *Encoder) LongStr(s string) {
	e.Long(uint32(len(s)))
	e.Buf = append(e.Buf, s...)
}

// Bits packs up to eight consecutive bit arguments into one octet, the first
// in the least significant bit, as AMQP requires.
func (e *Encoder) Bits(bits ...bool) {
	var o uint8
	for i, b := range bits {
		if b {
			o |= 1 << uint(i)
		}
	}
	e.Octet(o)
}

// Decoder reads AMQP values from a byte slice. After the first error every
// read returns a zero value and Err reports that error.
type Decoder struct {
	buf []byte
	off int
	err error
}

// NewDecoder returns a Decoder reading b. The decoder does not copy b; the
// strings and tables it returns do not alias it.
func NewDecoder(b []byte) Decoder { return Decoder{buf: b} }

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// Len returns the number of bytes not yet read.
func (d *Decoder) Len() int { return len(d.buf) - d.off }

// take returns the next n bytes, or nil after recording ErrShort.
func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || d.Len() < n {
		d.err = ErrShort
		return nil
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b
}

// Octet reads one byte.
func (d *Decoder) Octet() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

// Short reads a 16-bit unsigned integer.
func (d *Decoder) Short() uint16 {
	if b := d.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

// Long reads a 32-bit unsigned integer.
func (d *Decoder) Long() uint32 {
	if b := d.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

// LongLong reads a 64-bit unsigned integer.
func (d *Decoder) LongLong() uint64 {
	if b := d.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// ShortStr reads a short string.
func (d *Decoder) ShortStr() string {
	n := int(d.Octet())
	return string(d.take(n))
}

// LongStr reads a long string.
func (d *Decoder) LongStr() string {
	return string(d.LongBytes())
}

// LongBytes reads a long string as bytes, aliasing the decoder's input.
func (d *Decoder) LongBytes() []byte {
	n := d.Long()
	if n > 1<<31-1 {
		d.fail(ErrSyntax)
		return nil
	}
	return d.take(int(n))
}

// Bits reads one octet of packed bit arguments; test bit i with Bit.
func (d *Decoder) Bits() uint8 { return d.Octet() }

// Bit reports whether bit i (0 = least significant) of a packed octet is set.
func Bit(o uint8, i uint) bool { return o&(1<<i) != 0 }

func (d *Decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}
