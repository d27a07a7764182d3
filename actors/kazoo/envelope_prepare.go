package kazoo

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// Defaults are the header values a sender fills into its messages, as Kazoo's
// kz_api:default_headers/5 and Kamailio's kz_amqp_add_payload_common_properties do.
type Defaults struct {
	AppName    string // App-Name, e.g. "warren"
	AppVersion string // App-Version
	Node       string // Node, e.g. "warren@host"; left out when empty
	ServerID   string // Server-ID: the routing key of our reply queue on "targeted"; left out when empty
}

// NewMsgID returns a fresh Msg-ID: 32 lower-case hex digits from crypto/rand, the form of
// Kazoo's kz_binary:rand_hex(16).
func NewMsgID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Prepare readies e for publishing, like kz_api:prepare_api_payload followed by the default-header
// check of kz_api:validate:
//
//  1. it deletes every key whose value is null or "", in nested objects too (not inside arrays),
//     except Server-ID and Msg-ID when they are "";
//  2. it fills App-Name, App-Version, Node and Server-ID from d where they are missing (absent,
//     null or "") and d has a value, and Msg-ID with [NewMsgID] where it is missing;
//  3. it checks that App-Name, App-Version, Event-Category, Event-Name and Msg-ID are present and
//     that the headers Kazoo types as strings are strings.
//
// The error is a *[ValidationError] naming every missing and invalid header. e is modified in
// place even when Prepare fails.
func (e Envelope) Prepare(d Defaults) error {
	e.fill(d)
	v := &ValidationError{}
	e.checkDefaults(v)
	return v.orNil()
}

// fill performs steps 1 and 2 of Prepare.
func (e Envelope) fill(d Defaults) {
	removeEmpty(e)
	setMissing(e, HeaderAppName, d.AppName)
	setMissing(e, HeaderAppVersion, d.AppVersion)
	setMissing(e, HeaderNode, d.Node)
	setMissing(e, HeaderServerID, d.ServerID)
	if isMissing(e[HeaderMsgID]) {
		e[HeaderMsgID] = NewMsgID()
	}
}

// checkDefaults performs step 3 of Prepare, adding what it finds to v.
func (e Envelope) checkDefaults(v *ValidationError) {
	for _, k := range RequiredHeaders() {
		if isMissing(e[k]) {
			v.Missing = append(v.Missing, k)
		}
	}
	for _, k := range stringHeaders {
		if val, ok := e[k]; ok && val != nil {
			if _, isStr := val.(string); !isStr {
				v.Invalid = append(v.Invalid, fmt.Sprintf("%s %s (want a string)", k, describe(val)))
			}
		}
	}
}

// removeEmpty is kz_api:remove_empty_values/1: Server-ID and Msg-ID are kept when "", because
// Kazoo keeps them (an undefined value is dropped later by kz_json:from_list, so null goes).
func removeEmpty(m map[string]any) {
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			delete(m, k)
		case string:
			if x == "" && k != HeaderServerID && k != HeaderMsgID {
				delete(m, k)
			}
		case map[string]any:
			removeEmpty(x)
		case Envelope:
			removeEmpty(x)
		}
	}
}

func setMissing(e Envelope, key, value string) {
	if value != "" && isMissing(e[key]) {
		e[key] = value
	}
}

// isMissing reports whether a value counts as absent: nil (absent or null) or "".
func isMissing(v any) bool {
	s, isStr := v.(string)
	return v == nil || isStr && s == ""
}

// describe renders a value for an error message, quoting strings.
func describe(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	s, _ := text(v)
	if r := []rune(s); len(r) > 40 {
		s = string(r[:37]) + "..."
	}
	return s
}
