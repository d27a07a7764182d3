package kazoo

import (
	"bytes"
	"compress/gzip"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// bomb is a gzip body of n members, each 1 MiB of zeros (some 1 KiB
// compressed): it decompresses to n MiB.
func bomb(t testing.TB, n int) []byte {
	t.Helper()
	member := Gzip(make([]byte, 1<<20))
	return bytes.Repeat(member, n)
}

func TestGzip_RoundTripsThroughDecodeBody(t *testing.T) {
	for _, tt := range []struct {
		name  string
		given []byte
	}{
		{name: "an empty body", given: []byte{}},
		{name: "a Kazoo envelope", given: []byte(`{"Event-Category":"directory","Event-Name":"authn_req","Msg-ID":"m1"}`)},
		{name: "a 3 MiB body", given: bytes.Repeat([]byte(`{"Channels":[{"Call-ID":"c"}]}`), 100000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			z := Gzip(tt.given)
			if len(z) < 18 || z[0] != 0x1f || z[1] != 0x8b {
				t.Fatalf("Gzip gave %d bytes starting %x, not a gzip member", len(z), z[:min(len(z), 2)])
			}
			got, err := DecodeBody("gzip", z, len(tt.given))
			if err != nil || !bytes.Equal(got, tt.given) {
				t.Fatalf("DecodeBody(Gzip(x)) = %d bytes, %v; want the %d bytes back", len(got), err, len(tt.given))
			}
			// The standard library, as any peer would, reads it too.
			zr, err := gzip.NewReader(bytes.NewReader(z))
			if err != nil {
				t.Fatal(err)
			}
			var plain bytes.Buffer
			if _, err := plain.ReadFrom(zr); err != nil || !bytes.Equal(plain.Bytes(), tt.given) {
				t.Fatalf("compress/gzip read %d bytes, %v", plain.Len(), err)
			}
		})
	}
}

func TestDecodeBody_OtherEncodingsAreLeftAsTheyAre(t *testing.T) {
	body := []byte(`{"a":1}`)
	for _, enc := range []string{"", "identity", "deflate", "br", "gzip2"} {
		got, err := DecodeBody(enc, body, 1)
		if err != nil || &got[0] != &body[0] {
			t.Errorf("DecodeBody(%q) = %q, %v; want the same slice", enc, got, err)
		}
	}
	for _, enc := range []string{"gzip", "GZIP", " gzip ", "x-gzip"} {
		if !IsGzip(enc) {
			t.Errorf("IsGzip(%q) = false", enc)
		}
	}
}

func TestGunzip_BombFailsWithinItsBound(t *testing.T) {
	const limit = 1 << 20
	b := bomb(t, 1024) // 1 GiB once inflated
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := Gunzip(b, limit)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrBodyTooLarge) || got != nil {
		t.Fatalf("Gunzip(1 GiB bomb) = %d bytes, %v; want ErrBodyTooLarge", len(got), err)
	}
	if !strings.Contains(err.Error(), "more than 1048576 bytes") {
		t.Errorf("error %q does not name the bound", err)
	}
	// Allocated: the output up to the bound (doubling), not the gigabyte.
	if n := after.TotalAlloc - before.TotalAlloc; n > 4*limit {
		t.Fatalf("Gunzip of the bomb allocated %d bytes; want under %d", n, 4*limit)
	}
}

func TestGunzip_TheBoundIsInclusive(t *testing.T) {
	z := Gzip(bytes.Repeat([]byte("x"), 1000))
	if got, err := Gunzip(z, 1000); err != nil || len(got) != 1000 {
		t.Fatalf("1000 bytes under a bound of 1000: %d, %v", len(got), err)
	}
	if _, err := Gunzip(z, 999); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("1000 bytes under a bound of 999: %v, want ErrBodyTooLarge", err)
	}
	if got, err := Gunzip(bomb(t, 2), 0); err != nil || len(got) != 2<<20 {
		t.Fatalf("2 MiB under the default bound: %d, %v", len(got), err) // 0: DefaultMaxDecodedSize
	}
}

func TestGunzip_MalformedBodiesFailClearly(t *testing.T) {
	z := Gzip([]byte(`{"Event-Category":"directory","Event-Name":"authn_req","Msg-ID":"m1"}`))
	flipped := bytes.Clone(z)
	flipped[len(flipped)-6] ^= 0xff // the CRC-32 of the trailer
	for _, tt := range []struct {
		name  string
		given []byte
		want  string
	}{
		{name: "empty", given: nil, want: "the 0-byte body is truncated"},
		{name: "cut in the header", given: z[:5], want: "truncated"},
		{name: "cut in the data", given: z[:len(z)/2], want: "truncated"},
		{name: "cut in the trailer", given: z[:len(z)-3], want: "truncated"},
		{name: "a bad checksum", given: flipped, want: "checksum"},
		{name: "not gzip at all", given: []byte(`{"Event-Category":"directory"}`), want: "invalid header"},
		{name: "data after the member", given: append(bytes.Clone(z), "and some garbage"...), want: "invalid header"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Gunzip(tt.given, 0)
			if !errors.Is(err, ErrBadGzip) || !strings.Contains(err.Error(), tt.want) || got != nil {
				t.Fatalf("Gunzip = %q, %v; want ErrBadGzip saying %q", got, err, tt.want)
			}
		})
	}
}

func TestParseEncoded_DecodesAGzippedEnvelope(t *testing.T) {
	plain := []byte(`{"Event-Category":"directory","Event-Name":"authn_req","Msg-ID":"m1"}`)
	env, body, err := ParseEncoded(Gzip(plain), "gzip")
	if err != nil || env.MsgID() != "m1" || !bytes.Equal(body, plain) {
		t.Fatalf("ParseEncoded = %v, %q, %v", env, body, err)
	}
	env, body, err = ParseEncoded(plain, "")
	if err != nil || env.Name() != "authn_req" || &body[0] != &plain[0] {
		t.Fatalf("ParseEncoded without encoding = %v, %q, %v", env, body, err)
	}
	if _, _, err := ParseEncoded(plain, "gzip"); !errors.Is(err, ErrBadGzip) {
		t.Fatalf("plain JSON sent as gzip: %v, want ErrBadGzip", err)
	}
	if _, _, err := ParseEncoded(Gzip([]byte(`[1]`)), "gzip"); !errors.Is(err, ErrNotObject) {
		t.Fatalf("a gzipped array: %v, want ErrNotObject", err)
	}
}
