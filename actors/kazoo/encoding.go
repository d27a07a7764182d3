package kazoo

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// EncodingGzip is the content encoding of a gzipped body: Kazoo's
// kz_amqp_util:basic_publish gzips the payload of a publish given
// content_encoding "gzip", and gen_listener gunzips it before decoding.
const EncodingGzip = "gzip"

// DefaultMaxDecodedSize bounds what a gzipped body may decompress to (16
// MiB): a small body that inflates further (a gzip bomb) fails that body
// alone, with [ErrBodyTooLarge], before more is allocated. Kazoo's own
// messages are a few KiB; its largest, the MMS of kapi_im, stay well below.
const DefaultMaxDecodedSize = 16 << 20

// IsGzip reports whether a content encoding names gzip ("gzip", or the
// older "x-gzip"; case and surrounding blanks aside).
func IsGzip(contentEncoding string) bool {
	e := strings.TrimSpace(contentEncoding)
	return strings.EqualFold(e, EncodingGzip) || strings.EqualFold(e, "x-gzip")
}

// DecodeBody returns body as its content encoding says it was sent: a
// gzipped body ([IsGzip]) decompressed to at most maxSize bytes (maxSize <= 0:
// [DefaultMaxDecodedSize]), any other body as it is, the same slice ("",
// "identity", and encodings Warren does not know, which the JSON decoding
// after it then reads as they are, as before gzip was known). A gzipped
// body that is not valid gzip (truncated, a bad checksum, data after it)
// fails with [ErrBadGzip], one that decompresses to more than maxSize with
// [ErrBodyTooLarge].
func DecodeBody(contentEncoding string, body []byte, maxSize int) ([]byte, error) {
	if contentEncoding == "" || !IsGzip(contentEncoding) {
		return body, nil
	}
	return Gunzip(body, maxSize)
}

// ParseEncoded is [DecodeBody] (with [DefaultMaxDecodedSize]) then
// [Parse]: the envelope of a delivery and its decoded body. Listeners and
// RPC replies decode deliveries with it.
func ParseEncoded(body []byte, contentEncoding string) (Envelope, []byte, error) {
	plain, err := DecodeBody(contentEncoding, body, 0)
	if err != nil {
		return nil, body, err
	}
	env, err := Parse(plain)
	return env, plain, err
}

// Gunzip decompresses a gzip body (all its members) to at most maxSize
// bytes (maxSize <= 0: [DefaultMaxDecodedSize]). Errors wrap [ErrBadGzip] or
// [ErrBodyTooLarge].
func Gunzip(body []byte, maxSize int) ([]byte, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxDecodedSize
	}
	zr := gunzippers.Get().(*gunzipper)
	defer zr.release()
	zr.src.Reset(body)
	if err := zr.reset(); err != nil {
		return nil, badGzip(err, len(body))
	}
	// Start from a guess (JSON compresses some 5:1) and double up to
	// maxSize+1 bytes: a bomb costs no more, however far it would inflate.
	limit := maxSize + 1
	out := make([]byte, 0, min(limit, 4*len(body)+512))
	for {
		if len(out) > maxSize {
			return nil, fmt.Errorf("%w: a %d-byte gzip body decompresses to more than %d bytes", ErrBodyTooLarge, len(body), maxSize)
		}
		if len(out) == cap(out) {
			out = slices.Grow(out, min(cap(out), limit-len(out)))
		}
		n, err := zr.r.Read(out[len(out):min(cap(out), limit)])
		out = out[:len(out)+n]
		if err == io.EOF {
			if len(out) > maxSize {
				continue // reported above
			}
			return out, nil
		}
		if err != nil {
			return nil, badGzip(err, len(body))
		}
	}
}

// Gzip compresses body as Kazoo's zlib:gzip/1 does (one gzip member, the
// default compression level) into a new slice.
func Gzip(body []byte) []byte {
	zw := gzippers.Get().(*gzipper)
	defer gzippers.Put(zw)
	zw.out = bytes.Buffer{}
	zw.out.Grow(len(body)/3 + 64)
	zw.w.Reset(&zw.out)
	_, _ = zw.w.Write(body) // a bytes.Buffer does not fail
	_ = zw.w.Close()
	out := zw.out.Bytes()
	zw.out = bytes.Buffer{} // the pooled writer keeps no caller's body
	return out
}

func badGzip(err error, n int) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: the %d-byte body is truncated", ErrBadGzip, n)
	}
	return fmt.Errorf("%w: %v", ErrBadGzip, err)
}

// gunzipper is a gzip reader kept for reuse: its inflater costs some 40
// KiB to allocate, more than most Kazoo messages.
type gunzipper struct {
	src bytes.Reader
	r   *gzip.Reader // nil until its first body (a gzip.Reader starts by reading a header)
}

// reset starts z on the body in z.src.
func (z *gunzipper) reset() error {
	if z.r == nil {
		r, err := gzip.NewReader(&z.src)
		if err != nil {
			return err
		}
		z.r = r
		return nil
	}
	return z.r.Reset(&z.src)
}

// release returns z to the pool, holding on to no caller's body.
func (z *gunzipper) release() {
	z.src.Reset(nil)
	gunzippers.Put(z)
}

var gunzippers = sync.Pool{New: func() any { return new(gunzipper) }}

// gzipper is a gzip writer kept for reuse: its deflater costs some 800 KiB
// to allocate.
type gzipper struct {
	out bytes.Buffer
	w   *gzip.Writer
}

var gzippers = sync.Pool{New: func() any {
	z := new(gzipper)
	z.w = gzip.NewWriter(&z.out)
	return z
}}
