// Package redact keeps credentials out of everything Warren prints: log
// lines, errors, table rows, the admin API and the CLI. Every package that
// renders a URI or an error that may quote one goes through it.
//
// amqp091-go and net/url both quote a whole URI in their errors, password
// included, so an error is never printed as is: [Error] masks every AMQP
// URI it holds.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Unparsable replaces a URI that cannot be parsed: its parts cannot be told
// apart, so none of it is shown.
const Unparsable = "<unparsable AMQP URI>"

// URI masks the password of an AMQP URI ("amqp://guest:xxxxx@host/"). An
// unparsable URI is replaced as a whole by [Unparsable].
func URI(uri string) string {
	p, err := url.Parse(strings.TrimSpace(uri))
	if err != nil || p.Scheme == "" || p.Host == "" {
		return Unparsable
	}
	return p.Redacted()
}

// uriInText finds AMQP URIs inside free text: up to the next space, quote or
// angle bracket, the characters that end a URI in Go's error messages.
var uriInText = regexp.MustCompile(`(?i)amqps?://[^\s"'<>]+`)

// Text masks the password of every AMQP URI inside s.
func Text(s string) string {
	if !strings.Contains(strings.ToLower(s), "amqp") {
		return s
	}
	return uriInText.ReplaceAllStringFunc(s, URI)
}

// Error renders err with every AMQP URI in it masked; a nil error renders
// as "<nil>".
func Error(err error) string {
	if err == nil {
		return "<nil>"
	}
	return Text(err.Error())
}
