package kazoo

import (
	"fmt"
	"strings"
)

const upperHex = "0123456789ABCDEF"

// Encode makes s safe as one word of an AMQP topic routing key, exactly as Erlang
// kz_amqp_util:encode/1 and Kamailio's kazoo_encode / {kz.encode} do:
//
//   - "", "*" and "#" are returned unchanged, so wildcards survive;
//   - bytes in [a-zA-Z0-9-~_] are kept;
//   - a space becomes '+', and '.' becomes "%2E" so it no longer separates words;
//   - every other byte becomes %XX in upper-case hex.
//
// Encoding is per byte: a multi-byte UTF-8 character becomes several %XX. Kamailio's C code may
// differ from Erlang for bytes >= 0x80 (a signed char); Encode follows Erlang.
func Encode(s string) string {
	if s == "" || s == "*" || s == "#" {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case keySafe(c):
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default: // '.' falls here too: "%2E"
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&0x0F])
		}
	}
	return b.String()
}

// keySafe is Kazoo's ?KEY_SAFE: the bytes Encode keeps as they are.
func keySafe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '~' || c == '_'
}

// Decode reverses [Encode]: '+' becomes a space and %XX the byte XX (either case of hex is
// accepted). Every other byte is copied, so Decode(Encode(s)) == s for any s. Kazoo has no
// decoder; this one exists for logs and tests. A '%' not followed by two hex digits gives an
// error wrapping [ErrBadEscape] that names its byte position.
func Decode(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b.WriteByte(' ')
		case '%':
			if i+2 >= len(s) {
				return "", fmt.Errorf("%w at byte %d of %q: need two hex digits", ErrBadEscape, i, s)
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", fmt.Errorf("%w at byte %d of %q: %q is not two hex digits", ErrBadEscape, i, s, s[i+1:i+3])
			}
			b.WriteByte(hi<<4 | lo)
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
