package redact

import (
	"errors"
	"strings"
	"testing"
)

func TestURI_MasksPassword(t *testing.T) {
	for in, want := range map[string]string{
		"amqp://guest:secret@127.0.0.1:5672/":   "amqp://guest:xxxxx@127.0.0.1:5672/",
		" amqps://u:p@h/vh ":                    "amqps://u:xxxxx@h/vh",
		"amqp://host:5672/":                     "amqp://host:5672/",
		"amqp://u:p%zz@h/":                      Unparsable,
		"not a uri":                             Unparsable,
		"amqp://user:pa ss@broker.example:5672": Unparsable,
	} {
		if got := URI(in); got != want {
			t.Errorf("URI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestText_MasksEveryURI(t *testing.T) {
	// Two URIs in one text: the old hand-written scanner never returned on this.
	in := `dial amqp://a:one@h1:5672/ failed, then "amqps://b:two@h2/x" and AMQP://c:three@h3/`
	got := Text(in)
	for _, secret := range []string{"one", "two", "three"} {
		if strings.Contains(got, ":"+secret+"@") {
			t.Fatalf("Text kept password %q: %s", secret, got)
		}
	}
	if !strings.Contains(got, "amqp://a:xxxxx@h1:5672/") || !strings.Contains(got, `"amqps://b:xxxxx@h2/x"`) {
		t.Fatalf("Text lost the URIs' shape: %s", got)
	}
	if Text("no uri here") != "no uri here" {
		t.Fatal("Text changed a text without URIs")
	}
}

func TestError_MasksAndHandlesNil(t *testing.T) {
	if got := Error(nil); got != "<nil>" {
		t.Fatalf("Error(nil) = %q", got)
	}
	err := errors.New(`parse "amqp://u:hunter2@h:99999/": invalid port`)
	if got := Error(err); strings.Contains(got, "hunter2") {
		t.Fatalf("Error kept the password: %s", got)
	}
}
