package actors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	_ "unsafe" // go:linkname: amqp091's own table reader is the judge

	amqp "github.com/rabbitmq/amqp091-go"
)

// amqpReadTable is amqp091-go's field-table reader (read.go), which its
// connection uses on every content header: what it refuses closes the
// connection with a frame error.
//
//go:linkname amqpReadTable github.com/rabbitmq/amqp091-go.readTable
func amqpReadTable(r io.Reader) (amqp.Table, error)

// chunkConn hands out src at most n octets per Read.
type chunkConn struct {
	net.Conn
	src []byte
	n   int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.src) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.src)
	c.src = c.src[k:]
	return k, nil
}

// filtered reads src through a frame filter, n octets per socket read, into
// buffers of size bufSize (as bufio gives them).
func filtered(t testing.TB, src []byte, n, bufSize int) []byte {
	t.Helper()
	f := newFrameFilter(&chunkConn{src: src, n: n}, 0)
	var out []byte
	buf := make([]byte, bufSize)
	for i := 0; ; i++ {
		k, err := f.Read(buf)
		out = append(out, buf[:k]...)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if i > 10*len(src)+100 {
			t.Fatalf("the filter makes no progress: %d of %d octets out", len(out), len(src))
		}
	}
}

func frame(typ byte, channel uint16, payload []byte) []byte {
	b := []byte{typ}
	b = binary.BigEndian.AppendUint16(b, channel)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	return append(b, amqpFrameEnd)
}

// deepTable encodes a field table nested depth tables below itself:
// {"a": {"a": … {}}}.
func deepTable(depth int) []byte {
	inner := []byte{0, 0, 0, 0}
	for range depth {
		entry := append([]byte{1, 'a', 'F'}, inner...)
		inner = binary.BigEndian.AppendUint32(nil, uint32(len(entry)))
		inner = append(inner, entry...)
	}
	return inner
}

// table encodes {key: longstr value}.
func table(key, value string) []byte {
	entry := append([]byte{byte(len(key))}, key...)
	entry = append(entry, 'S')
	entry = binary.BigEndian.AppendUint32(entry, uint32(len(value)))
	entry = append(entry, value...)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(entry))), entry...)
}

// headerPayload is a basic content header with content type, headers (the
// encoded table) and a message id.
func headerPayload(headers []byte, bodySize int) []byte {
	b := []byte{0, 60, 0, 0}
	b = binary.BigEndian.AppendUint64(b, uint64(bodySize))
	b = binary.BigEndian.AppendUint16(b, amqpFlagContentType|amqpFlagHeaders|0x0100)
	b = append(b, 16)
	b = append(b, "application/json"...)
	b = append(b, headers...)
	return append(b, 5, 'm', 's', 'g', '-', '1')
}

// delivery is one basic.deliver with its content header and body.
func delivery(channel uint16, headers []byte, body string) []byte {
	deliver := []byte{0, 60, 0, 60, 3, 'c', 't', 'g', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 'q'}
	b := frame(1, channel, deliver)
	b = append(b, frame(amqpFrameHeader, channel, headerPayload(headers, len(body)))...)
	return append(b, frame(3, channel, []byte(body))...)
}

// splitFrames cuts a stream into frames (each with its header and end).
func splitFrames(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 8 {
			t.Fatalf("a partial frame of %d octets", len(b))
		}
		n := int(binary.BigEndian.Uint32(b[3:])) + 8
		if n > len(b) || b[n-1] != amqpFrameEnd {
			t.Fatalf("a frame of %d octets, %d left, end %x", n, len(b), b[min(n, len(b))-1])
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// readHeaders decodes the headers of a content-header frame as amqp091 does.
func readHeaders(t testing.TB, fr []byte) (amqp.Table, error) {
	t.Helper()
	payload := fr[7 : len(fr)-1]
	i := amqpHeaderPropsStart + 1 + int(payload[amqpHeaderPropsStart])
	return amqpReadTable(bytes.NewReader(payload[i:]))
}

var readSizes = []struct{ sock, buf int }{{1, 4096}, {3, 4096}, {7, 4096}, {8, 13}, {100, 4096}, {4096, 4096}, {1 << 20, 512}, {1 << 20, 1 << 20}}

func TestFrameFilter_PassesReadableFramesByteIdentical(t *testing.T) {
	var stream []byte
	stream = append(stream, frame(8, 0, nil)...)
	for i := range 20 {
		h := table("x-n", strings.Repeat("v", i*37))
		if i%3 == 0 {
			h = deepTable(32) // amqp091 reads 32 levels
		}
		stream = append(stream, delivery(uint16(1+i%3), h, strings.Repeat("b", i*101))...)
	}
	stream = append(stream, frame(amqpFrameHeader, 1, make([]byte, 5000))...) // no headers flag
	for _, rs := range readSizes {
		if got := filtered(t, stream, rs.sock, rs.buf); !bytes.Equal(got, stream) {
			t.Fatalf("socket reads of %d, buffer %d: the stream changed (%d octets in, %d out)", rs.sock, rs.buf, len(stream), len(got))
		}
	}
	if _, err := readHeaders(t, splitFrames(t, delivery(1, deepTable(32), ""))[1]); err != nil {
		t.Fatalf("amqp091 should read 32 nested tables: %v", err)
	}
}

func TestFrameFilter_RewritesHeadersNested33Deep_AtEveryPosition(t *testing.T) {
	poison := delivery(2, deepTable(33), `{"poison":true}`)
	if _, err := readHeaders(t, splitFrames(t, poison)[1]); err == nil {
		t.Fatal("amqp091 read 33 nested tables: the filter has nothing to fix")
	}
	const n = 6
	for at := range n {
		var stream []byte
		for i := range n {
			if i == at {
				stream = append(stream, poison...)
				continue
			}
			stream = append(stream, delivery(1, table("k", "v"), strings.Repeat("x", 300*i))...)
		}
		want := splitFrames(t, stream)
		for _, rs := range readSizes {
			got := splitFrames(t, filtered(t, stream, rs.sock, rs.buf))
			if len(got) != len(want) {
				t.Fatalf("poison at %d, reads of %d: %d frames out of %d", at, rs.sock, len(got), len(want))
			}
			for i := range got {
				if i == 3*at+1 {
					h, err := readHeaders(t, got[i])
					if err != nil {
						t.Fatalf("poison at %d, reads of %d: amqp091 cannot read the rewritten headers: %v", at, rs.sock, err)
					}
					if h[DroppedHeadersHeader] != reasonTooDeep || len(h) != 1 {
						t.Fatalf("poison at %d: rewritten headers %v, want only %s=%q", at, h, DroppedHeadersHeader, reasonTooDeep)
					}
					if !bytes.HasSuffix(got[i], []byte{5, 'm', 's', 'g', '-', '1', amqpFrameEnd}) || got[i][2] != 2 {
						t.Fatalf("poison at %d: the properties after the headers or the channel changed: % x", at, got[i])
					}
					continue
				}
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("poison at %d, reads of %d: frame %d changed", at, rs.sock, i)
				}
			}
		}
	}
}

func TestHeadersTable_AgreesWithAmqp091(t *testing.T) {
	many := func(n int, typ byte) []byte { // n entries, keys all different
		var e []byte
		for i := range n {
			e = append(e, 2, byte(i>>8), byte(i), typ)
		}
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(e))), e...)
	}
	array := func(elems []byte) []byte {
		e := append([]byte{1, 'a', 'A'}, binary.BigEndian.AppendUint32(nil, uint32(len(elems)))...)
		e = append(e, elems...)
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(e))), e...)
	}
	deepArray := func(depth int) []byte {
		var inner []byte
		for range depth - 1 {
			inner = append(binary.BigEndian.AppendUint32([]byte{'A'}, uint32(len(inner))), inner...)
		}
		return array(inner)
	}
	tests := []struct {
		name  string
		given []byte
		want  string
	}{
		{"an empty table", []byte{0, 0, 0, 0}, ""},
		{"32 nested tables", deepTable(32), ""},
		{"33 nested tables", deepTable(33), reasonTooDeep},
		{"1000 nested tables", deepTable(1000), reasonTooDeep},
		{"32 nested arrays", deepArray(32), ""},
		{"33 nested arrays", deepArray(33), reasonTooDeep},
		{"8192 entries", many(8192, 'V'), ""},
		{"8193 entries", many(8193, 'V'), reasonTooLarge},
		{"an unknown field type", many(1, 'Z'), reasonMalformed},
		// amqp091 counts distinct keys; the filter counts entries, and so
		// refuses more than it must here (the one case where it does).
		{"8193 entries of one key", append(binary.BigEndian.AppendUint32(nil, 8193*3), bytes.Repeat([]byte{1, 'k', 'V'}, 8193)...), reasonTooLarge},
		{"a truncated value", []byte{0, 0, 0, 4, 1, 'k', 'I', 0}, reasonMalformed},
		{"an array whose last element is cut at its start", array([]byte{'I', 0, 0, 0, 1, 'I'}), ""},
		{"an array whose last element is cut inside", array([]byte{'I', 0, 0, 0, 1, 'I', 0}), reasonMalformed},
		{"8193 array elements", array(bytes.Repeat([]byte{'V'}, 8193)), reasonTooLarge},
		{"a negative byte array", array([]byte{'x', 0xff, 0, 0, 0}), reasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := headerPayload(tt.given, 0)
			_, _, why := headersTable(payload)
			if why != tt.want {
				t.Fatalf("headersTable says %q, want %q", why, tt.want)
			}
			_, err := readHeaders(t, frame(2, 1, payload))
			if strings.HasSuffix(tt.name, "of one key") {
				if err != nil {
					t.Fatalf("amqp091 should read it: %v", err)
				}
				return
			}
			if (err == nil) != (why == "") {
				t.Fatalf("headersTable says %q but amqp091 says %v", why, err)
			}
		})
	}
}

// FuzzFrameFilter: whatever the broker sends, the filter hands it on
// unchanged or with content headers rewritten into what amqp091 reads, in
// any split of reads; and it rewrites exactly the headers amqp091 refuses.
func FuzzFrameFilter(f *testing.F) {
	f.Add(delivery(1, deepTable(33), "x"), uint8(7))
	f.Add(delivery(1, deepTable(32), "x"), uint8(1))
	f.Add(append(delivery(1, table("a", "b"), ""), delivery(3, deepTable(40), "y")...), uint8(13))
	f.Add([]byte("AMQP\x00\x00\x09\x01"), uint8(3))
	f.Add(frame(2, 1, headerPayload([]byte{0, 0, 0, 4, 1, 'k', 'Z', 0}, 0)), uint8(200))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		out := filtered(t, in, int(chunk)+1, 4096)
		if bytes.Equal(out, in) {
			checkNoneRefused(t, in)
			return
		}
		// Changed: both must be frames, one for one, differing only in
		// content headers that amqp091 refused and now reads.
		ins, outs := frames(in), frames(out)
		if len(ins) != len(outs) {
			t.Fatalf("%d frames in, %d out", len(ins), len(outs))
		}
		for i := range ins {
			if bytes.Equal(ins[i], outs[i]) {
				continue
			}
			if ins[i][0] != amqpFrameHeader || !bytes.Equal(ins[i][:3], outs[i][:3]) {
				t.Fatalf("frame %d changed: % x -> % x", i, ins[i], outs[i])
			}
			if _, _, why := headersTable(ins[i][7 : len(ins[i])-1]); why == "" {
				t.Fatalf("frame %d rewritten though its headers are readable", i)
			}
			payload := outs[i][7 : len(outs[i])-1]
			start, _, why := headersTable(payload)
			if why != "" {
				t.Fatalf("frame %d: the rewritten headers are refused too: %s", i, why)
			}
			_ = start
			h, err := amqpReadTable(bytes.NewReader(payload[headersStart(payload):]))
			if err != nil || h[DroppedHeadersHeader] == nil {
				t.Fatalf("frame %d: amqp091 reads the rewritten headers as %v, %v", i, h, err)
			}
		}
	})
}

// frames cuts b into whole frames and a last partial piece.
func frames(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= 7 {
		n := int(binary.BigEndian.Uint32(b[3:])) + 8
		if n > len(b) || n < 8 {
			break
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	if len(b) > 0 {
		out = append(out, b)
	}
	return out
}

// headersStart is the offset of the headers table in a content header's
// payload that has one after a content type and encoding as flagged.
func headersStart(payload []byte) int {
	flags := binary.BigEndian.Uint16(payload[12:14])
	i := amqpHeaderPropsStart
	for _, f := range [...]uint16{amqpFlagContentType, amqpFlagContentEnc} {
		if flags&f != 0 {
			i += 1 + int(payload[i])
		}
	}
	return i
}

// checkNoneRefused fails if in, read as frames from its start, holds a
// whole content header whose delimited headers table amqp091 refuses: the
// filter should have rewritten it (it stops at the first non-frame).
func checkNoneRefused(t *testing.T, in []byte) {
	for _, fr := range frames(in) {
		if len(fr) < 8 || !frameType(fr[0]) {
			return
		}
		n := int(binary.BigEndian.Uint32(fr[3:])) + 8
		if len(fr) != n {
			return
		}
		payload := fr[7 : n-1]
		if fr[0] != amqpFrameHeader || fr[n-1] != amqpFrameEnd || len(payload) < amqpHeaderPropsStart ||
			binary.BigEndian.Uint16(payload[12:14])&amqpFlagHeaders == 0 {
			continue
		}
		i := headersStart(payload)
		if i+4 > len(payload) {
			continue
		}
		l := int(binary.BigEndian.Uint32(payload[i:]))
		if l > len(payload)-i-4 {
			continue
		}
		if _, err := amqpReadTable(bytes.NewReader(payload[i : i+4+l])); err != nil {
			t.Fatalf("amqp091 refuses headers the filter passed: %v (% x)", err, payload[i:i+4+l])
		}
	}
}

// BenchmarkFrameFilter_Deliveries reads 1,000 deliveries (deliver, content
// header with one header, body of 200-700 octets) through 4 KiB reads, as
// amqp091's bufio.Reader does, raw and through one long-lived filter.
func BenchmarkFrameFilter_Deliveries(b *testing.B) {
	var stream []byte
	for i := range 1000 {
		stream = append(stream, delivery(uint16(1+i%8), table("x-kazoo", strings.Repeat("v", 40)), strings.Repeat("b", 200+i%500))...)
	}
	buf := make([]byte, 4096)
	c := &chunkConn{}
	for _, bc := range []struct {
		name string
		r    io.Reader
	}{{"raw", c}, {"filtered", newFrameFilter(c, 0)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for b.Loop() {
				c.src, c.n = stream, 1<<20
				for {
					if _, err := bc.r.Read(buf); err != nil {
						break
					}
				}
			}
		})
	}
}
