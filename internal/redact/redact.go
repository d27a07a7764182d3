// Package redact keeps credentials out of everything Warren prints: log
// lines, errors, table rows, the admin API and the CLI. Every package that
// renders a URI or an error that may quote one goes through it.
//
// # One parser
//
// [ParseURI] is the one reading of an AMQP URI in Warren: the broker id,
// the dial and the redactor all start from it, so what the redactor masks
// is exactly what the parser takes for the password. A URI it refuses is
// never shown: [URI] replaces it as a whole by [Unparsable].
//
// amqp091-go and net/url both quote a whole URI in their errors, password
// included, so an error is never printed as is: [Error] masks every AMQP
// URI it holds.
package redact

import (
	"regexp"
	"strconv"
	"strings"
)

// Unparsable replaces a URI that cannot be parsed: its parts cannot be told
// apart, so none of it is shown.
const Unparsable = "<unparsable AMQP URI>"

// URI masks the password of an AMQP URI ("amqp://guest:xxxxx@host/"). A URI
// that [ParseURI] refuses is replaced as a whole by [Unparsable].
func URI(uri string) string {
	p, err := ParseURI(uri)
	if err != nil {
		return Unparsable
	}
	return p.Redacted()
}

// uriStart finds where an AMQP URI (or Kazoo's kazoo:// alias) begins in
// free text, malformed ones included: "amqp:/…", "amqp//…", "AMQPS:///…".
var uriStart = regexp.MustCompile(`(?i)(?:amqps?|kazoo)(?::/+|//+)`)

// Text masks the password of every AMQP URI inside s. It does not stop a URI
// at a quote, '<' or '>' (a password may hold them): the URI's userinfo is
// taken to run from the start to the last '@' before the next whitespace or
// the next URI, and everything between its first ':' and that '@' is
// masked (a password with whitespace in it, refused by ParseURI, is
// followed to the last '@' of its line before a '/'). That covers the password [ParseURI] finds in any URI it accepts,
// whatever text surrounds it, and masks generously in malformed ones
// ("amqp:/u:p@h", "amqp://u:pa/ss@h").
func Text(s string) string {
	locs := uriStart.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	done := 0
	for i, loc := range locs {
		from := loc[1]
		next := len(s)
		if i+1 < len(locs) {
			next = locs[i+1][0]
		}
		tok := s[from:next]
		if ws := strings.IndexFunc(tok, isSpace); ws >= 0 {
			tok = tok[:ws]
		}
		at := strings.LastIndexByte(tok, '@')
		if at < 0 {
			at = spacedUserinfo(s[from:next], tok)
		}
		if at < 0 {
			continue
		}
		colon := strings.IndexByte(s[from:from+at], ':')
		if colon < 0 {
			continue
		}
		b.WriteString(s[done : from+colon+1])
		b.WriteString(Mask)
		done = from + at
	}
	b.WriteString(s[done:])
	return b.String()
}

// spacedUserinfo finds the '@' of a userinfo whose password holds
// whitespace ("amqp://u:p ss@h"): tok, the URI up to its first whitespace,
// has a ':' not followed by a port or a '/', and rest (the text up to the
// next URI) has a '@' on the same line with no '/' before it. It returns
// that '@”s offset in rest, or -1.
func spacedUserinfo(rest, tok string) int {
	colon := strings.IndexByte(tok, ':')
	if colon < 0 || strings.IndexByte(tok[colon+1:], '/') >= 0 || tok[colon+1:] != "" && allDigits(tok[colon+1:]) {
		return -1
	}
	if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[:nl]
	}
	if sl := strings.IndexByte(rest, '/'); sl >= 0 {
		rest = rest[:sl]
	}
	return strings.LastIndexByte(rest, '@')
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == 0x85 || r == 0xA0
}

// Error renders err with every AMQP URI in it masked; a nil error renders
// as "<nil>".
func Error(err error) string {
	if err == nil {
		return "<nil>"
	}
	return Text(err.Error())
}

// Clip shortens s to at most n bytes (cut on a UTF-8 boundary), saying how
// long it was: a value echoed in an error or a log line never floods it.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "… (" + strconv.Itoa(len(s)) + " bytes)"
}
