package kazoo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Text returns the value of key as Kamailio's json_object_get_string would print it: a string
// as is, a number in its JSON text, a boolean as "true" or "false", an object or array as
// compact JSON. It returns "" when key is absent or null.
func (e Envelope) Text(key string) string {
	s, _ := text(e[key])
	return s
}

// text renders a decoded JSON value as Kamailio does; ok is false for nil (absent or null).
func text(v any) (s string, ok bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v), true
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})), true
}

// str returns the value of key when it is a JSON string.
func (e Envelope) str(key string) string {
	s, _ := e[key].(string)
	return s
}

// Category returns Event-Category, or "" when it is absent or not a string.
func (e Envelope) Category() string { return e.str(HeaderEventCategory) }

// Name returns Event-Name, or "" when it is absent or not a string.
func (e Envelope) Name() string { return e.str(HeaderEventName) }

// MsgID returns Msg-ID, or "" when it is absent or not a string.
func (e Envelope) MsgID() string { return e.str(HeaderMsgID) }

// ServerID returns Server-ID, the reply routing key, or "" when it is absent or not a string.
func (e Envelope) ServerID() string { return e.str(HeaderServerID) }

// SetCategory sets Event-Category.
func (e Envelope) SetCategory(v string) { e[HeaderEventCategory] = v }

// SetName sets Event-Name.
func (e Envelope) SetName(v string) { e[HeaderEventName] = v }

// SetMsgID sets Msg-ID.
func (e Envelope) SetMsgID(v string) { e[HeaderMsgID] = v }

// SetServerID sets Server-ID.
func (e Envelope) SetServerID(v string) { e[HeaderServerID] = v }

// Clone returns a deep copy: nested objects and arrays are copied too.
func (e Envelope) Clone() Envelope {
	if e == nil {
		return nil
	}
	return Envelope(cloneObject(e))
}

func cloneObject(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneObject(x)
	case Envelope:
		return cloneObject(x)
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = cloneValue(el)
		}
		return out
	}
	return v
}
