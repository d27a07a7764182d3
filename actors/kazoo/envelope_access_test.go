package kazoo

import (
	"encoding/json"
	"testing"
)

func TestEnvelope_Accessors(t *testing.T) {
	e := Envelope{}
	e.SetCategory("directory")
	e.SetName("authn_req")
	e.SetMsgID("abc")
	e.SetServerID("kamailio@host-<1>-targeted-0")
	if e.Category() != "directory" || e.Name() != "authn_req" || e.MsgID() != "abc" || e.ServerID() != "kamailio@host-<1>-targeted-0" {
		t.Fatalf("setters and getters disagree: %v", e)
	}
	e[HeaderMsgID] = json.Number("7")
	if got := e.MsgID(); got != "" {
		t.Errorf("MsgID of a number = %q, want \"\" (Kazoo reads it as a binary only)", got)
	}
}

func TestEnvelope_Text(t *testing.T) {
	e, err := Parse([]byte(`{"s":"str","n":1.50,"t":true,"f":false,"z":null,"o":{"a":"<b>"},"l":[1,"x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		given string
		want  string
	}{
		{name: "string as is", given: "s", want: "str"},
		{name: "number as its text", given: "n", want: "1.50"},
		{name: "true", given: "t", want: "true"},
		{name: "false", given: "f", want: "false"},
		{name: "null is empty", given: "z", want: ""},
		{name: "absent is empty", given: "nope", want: ""},
		{name: "object as compact json", given: "o", want: `{"a":"<b>"}`},
		{name: "array as compact json", given: "l", want: `[1,"x"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.Text(tt.given); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.given, got, tt.want)
			}
		})
	}
}

func TestEnvelope_CloneIsDeep(t *testing.T) {
	e, err := Parse([]byte(`{"o":{"a":1},"l":[{"b":2}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c := e.Clone()
	c["o"].(map[string]any)["a"] = "changed"
	c["l"].([]any)[0].(map[string]any)["b"] = "changed"
	c["new"] = true
	out, _ := e.Marshal()
	if string(out) != `{"l":[{"b":2}],"o":{"a":1}}` {
		t.Fatalf("changing the clone changed the original: %s", out)
	}
	if Envelope(nil).Clone() != nil {
		t.Error("Clone of nil should be nil")
	}
}
