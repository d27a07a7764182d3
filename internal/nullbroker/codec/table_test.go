package codec

import (
	"reflect"
	"testing"
	"time"
)

func TestTableRoundTrip(t *testing.T) {
	in := Table{
		"bool": true, "i8": int8(-3), "u8": uint8(200), "i16": int16(-300), "u16": uint16(60000),
		"i32": int32(-70000), "u32": uint32(4000000000), "i64": int64(-1 << 40),
		"f32": float32(1.5), "f64": 2.25, "dec": Decimal{Scale: 2, Value: 12345},
		"str": "hello", "bytes": []byte{1, 2, 3}, "time": time.Unix(1700000000, 0),
		"nested": Table{"a": []any{int32(1), "two", nil, Table{}}}, "void": nil,
	}
	var e Encoder
	e.Table(in)
	d := NewDecoder(e.Buf)
	out := d.Table()
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if d.Len() != 0 {
		t.Errorf("%d bytes left", d.Len())
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n in %#v\nout %#v", in, out)
	}
}

func TestTableErrors(t *testing.T) {
	for name, b := range map[string][]byte{
		"short length": {0, 0},
		"short body":   {0, 0, 0, 5, 1, 'a'},
		"bad type":     {0, 0, 0, 3, 1, 'a', '?'},
	} {
		d := NewDecoder(b)
		if d.Table(); d.Err() == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Deep nesting is refused rather than recursed into.
	var e Encoder
	var v any = Table{}
	for range 100 {
		v = Table{"n": v}
	}
	e.Table(v.(Table))
	d := NewDecoder(e.Buf)
	if d.Table(); d.Err() != ErrSyntax {
		t.Errorf("deep nesting: %v", d.Err())
	}
}

func TestPropertiesRoundTrip(t *testing.T) {
	p := Properties{
		Flags:       FlagContentType | FlagHeaders | FlagDeliveryMode | FlagReplyTo | FlagTimestamp | FlagAppID,
		ContentType: "application/json", Headers: Table{"k": "v"}, DeliveryMode: 2,
		ReplyTo: "amq.rabbitmq.reply-to", Timestamp: time.Unix(1700000000, 0), AppID: "app",
	}
	var e Encoder
	e.Properties(&p)
	if PropertyFlags(e.Buf) != p.Flags {
		t.Errorf("flags %x", PropertyFlags(e.Buf))
	}
	got, err := DecodeProperties(e.Buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Errorf("round trip:\n in %#v\nout %#v", p, got)
	}
}

func TestEqual(t *testing.T) {
	if !Equal(int8(5), int64(5)) || Equal(int32(5), "5") || !Equal(Table{"a": int16(1)}, Table{"a": uint32(1)}) {
		t.Error("Equal")
	}
}
