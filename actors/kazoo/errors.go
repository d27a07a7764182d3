package kazoo

import (
	"errors"
	"strings"
)

var (
	// ErrMalformedJSON is returned by [Parse] and [GetString] when the body is not valid JSON.
	// The wrapping error says at which byte the problem is.
	ErrMalformedJSON = errors.New("warren: kazoo: malformed JSON")

	// ErrNotObject is returned by [Parse] when the body is valid JSON but not an object
	// (an array, a string, a number, true, false or null). Kazoo messages are always objects.
	ErrNotObject = errors.New("warren: kazoo: JSON value is not an object")

	// ErrMissingHeader is wrapped by a *[ValidationError] when a required key is absent, null or
	// the empty string, and by [NewReply] when the request carries no Msg-ID to echo.
	ErrMissingHeader = errors.New("warren: kazoo: missing header")

	// ErrInvalidValue is wrapped by a *[ValidationError] when a key is present but has the wrong
	// JSON type or a value outside the API's allowed values.
	ErrInvalidValue = errors.New("warren: kazoo: invalid header value")

	// ErrBadPath is returned by [ParsePath] and [GetString] for a malformed path such as "a[",
	// "a[x]" or ".". The wrapping error names the byte position.
	ErrBadPath = errors.New("warren: kazoo: malformed path")

	// ErrBadEscape is returned by [Decode] for a '%' that is not followed by two hex digits.
	// The wrapping error names the byte position.
	ErrBadEscape = errors.New("warren: kazoo: malformed %XX escape")
)

// ValidationError lists everything wrong with one envelope: every missing key and every invalid
// value, not just the first. errors.Is matches [ErrMissingHeader] when Missing is not empty and
// [ErrInvalidValue] when Invalid is not empty.
type ValidationError struct {
	API     string   // "directory/authn_req"; empty when only the envelope headers were checked
	Missing []string // keys, in the order they are required
	Invalid []string // one entry per bad key: `Event-Name "x" (want "authn_req")`
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("warren: kazoo: ")
	if e.API != "" {
		b.WriteString(e.API)
		b.WriteString(": ")
	}
	if len(e.Missing) > 0 {
		b.WriteString("missing ")
		b.WriteString(strings.Join(e.Missing, ", "))
	}
	if len(e.Invalid) > 0 {
		if len(e.Missing) > 0 {
			b.WriteString("; ")
		}
		b.WriteString("invalid ")
		b.WriteString(strings.Join(e.Invalid, ", "))
	}
	return b.String()
}

// Unwrap exposes [ErrMissingHeader] and/or [ErrInvalidValue] to errors.Is.
func (e *ValidationError) Unwrap() []error {
	var errs []error
	if len(e.Missing) > 0 {
		errs = append(errs, ErrMissingHeader)
	}
	if len(e.Invalid) > 0 {
		errs = append(errs, ErrInvalidValue)
	}
	return errs
}

// orNil returns e, or nil when e found nothing; it keeps a nil *ValidationError out of an error.
func (e *ValidationError) orNil() error {
	if len(e.Missing) == 0 && len(e.Invalid) == 0 {
		return nil
	}
	return e
}

var (
	// ErrBadGzip is returned by [DecodeBody], [Gunzip] and [ParseEncoded] for a body sent
	// gzipped that is not valid gzip: truncated, a bad header or checksum, data after it.
	ErrBadGzip = errors.New("warren: kazoo: malformed gzip body")

	// ErrBodyTooLarge is returned by [DecodeBody], [Gunzip] and [ParseEncoded] for a gzipped
	// body that decompresses to more than the bound ([DefaultMaxDecodedSize]): a gzip bomb fails
	// alone, before more memory is taken.
	ErrBodyTooLarge = errors.New("warren: kazoo: decompressed body too large")
)
