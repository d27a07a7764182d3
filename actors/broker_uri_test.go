package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/redact"
)

func ExampleBrokerURI() {
	fmt.Println(BrokerURI("amqp://kazoo:s3cret@10.0.0.5:5672/"))
	// Output: amqp://kazoo:xxxxx@10.0.0.5:5672/
}

func TestBrokerURI_NeverPrintsPassword(t *testing.T) {
	for _, uri := range []string{
		"amqp://kazoo:s3cret@10.0.0.5:5672/",
		"amqps://kazoo:s3cret@host/vh?cacertfile=/x",
		"amqp://kazoo:s3cret@[::1:5672/", // unparsable
		"not a uri s3cret",
	} {
		u := BrokerURI(uri)
		var sb strings.Builder
		slog.New(slog.NewTextHandler(&sb, nil)).Info("x", "uri", u)
		for _, out := range []string{u.String(), fmt.Sprint(u), sb.String()} {
			if strings.Contains(out, "s3cret") {
				t.Errorf("%q printed as %q", uri, out)
			}
		}
	}
}

func TestBrokerID(t *testing.T) {
	tests := []struct{ given, want, wantErr string }{
		{given: "amqp://guest:guest@127.0.0.1:5672/", want: "127.0.0.1:5672"},
		{given: "amqp://h", want: "h:5672"},
		{given: "amqps://u:p@broker.example.com/", want: "broker.example.com:5671"},
		{given: "amqp://u:p@h:5673/kazoo", want: "h:5673@kazoo"},
		{given: "amqp://u:p@h:5673/a%2Fb", want: "h:5673@a%2Fb"},
		{given: "http://u:s3cret@h/", wantErr: "scheme"},
		{given: "amqp://u:s3cret@h:notaport/", wantErr: "port"},
		{given: "amqp://u:s3cret@h:99999/", wantErr: "invalid port (1-65535)"},
		{given: "amqp://u:s3cret@h:0/", wantErr: "invalid port (1-65535)"},
		// Issue 19: each was accepted, and its broker id held the password.
		{given: "amqp:/guest:s3cret@127.0.0.1:5672", wantErr: `followed by "//"`},
		{given: "amqp//guest:s3cret@127.0.0.1:5672", wantErr: `"://"`},
		{given: "amqp://guest:2024/s3cret@host/", wantErr: "'@' after the host"},
		{given: "amqp://guest:s3cret#x@host/", wantErr: "'@' after the host"},
		{given: "amqp://guest:p'ss@host/", want: "host:5672"},
		{given: "amqp://guest:2024%2Fs3cret@host/", want: "host:5672"},
		{given: " amqp://guest:s3cret@host/kazoo\n", want: "host:5672@kazoo"},
		{given: `amqp://guest:s3cret"<>@host/`, wantErr: "percent-encoded"},
		{given: "amqp://guest:s3cret@host/?heartbeat=x", wantErr: "heartbeat= takes a whole number of seconds"},
		{given: "amqp://guest:s3cret@host/?heartbeat=", wantErr: "heartbeat= takes a whole number of seconds"},
		{given: "amqp://guest:s3cret@host/?channel_max=70000", wantErr: "channel_max= takes a whole number (0-65535)"},
		{given: "amqp://guest:s3cret@host/?connection_timeout=1.5", wantErr: "connection_timeout= takes a whole number of milliseconds"},
		{given: "amqp://guest:s3cret@host/?heartbeat=5&channel_max=2047&connection_timeout=3000", want: "host:5672"},
	}
	for _, tt := range tests {
		t.Run(tt.given, func(t *testing.T) {
			got, err := BrokerID(tt.given)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("err = %v, want one naming %q without the password", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("BrokerID = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestBrokerError_NeverPrintsPassword(t *testing.T) {
	err := fmt.Errorf(`dial "amqp://kazoo:s3cret@10.0.0.5:5672/" failed`)
	if got := redact.Error(err); strings.Contains(got, "s3cret") || !strings.Contains(got, "kazoo:xxxxx@10.0.0.5") {
		t.Fatalf("redact.Error = %q", got)
	}
	be := &BrokerError{Broker: "b", Op: "dial", Err: err}
	if strings.Contains(be.Error(), "s3cret") {
		t.Fatalf("BrokerError = %q", be.Error())
	}
}

func TestPermanent_ClassifiesDialErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"access refused", &amqp.Error{Code: amqp.AccessRefused, Reason: "username or password not allowed"}, true},
		{"vhost missing", &amqp.Error{Code: amqp.NotAllowed, Reason: "vhost nope not found"}, true},
		{"precondition on exchange", &amqp.Error{Code: amqp.PreconditionFailed, Reason: "inequivalent arg 'type'"}, true},
		{"credentials", fmt.Errorf("wrap: %w", amqp.ErrCredentials), true},
		{"network", &amqp.Error{Code: amqp.FrameError, Reason: "i/o timeout"}, false},
		{"connection forced", &amqp.Error{Code: amqp.ConnectionForced, Reason: "shutdown"}, false},
		{"refused", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Permanent(&BrokerError{Broker: "b", Op: "dial", Err: tt.err}); got != tt.want {
				t.Fatalf("Permanent = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBrokerSpec_RefusesAnIDThatIsAURI(t *testing.T) {
	_, err := BrokerSpec{ID: "amqp://guest:s3cret@h/", Options: ConnectionOptions{URL: "amqp://h/"}}.Normalize("local")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Normalize = %v, want an error without the password", err)
	}
	spec, err := BrokerSpec{Options: ConnectionOptions{URL: "amqp://guest:p'ss@h:5673/kazoo"}}.Normalize("local")
	if err != nil || spec.ID != "h:5673@kazoo" {
		t.Fatalf("Normalize = %q, %v", spec.ID, err)
	}
}

func TestConnectionOptions_FieldsMakeAURITheParserAccepts(t *testing.T) {
	for _, o := range []ConnectionOptions{
		{Host: "h", Username: "u@x", Password: "p/ss#?@:'", VirtualHost: "a@b/c"},
		{Host: "::1", VirtualHost: "/"},
		{Host: "::1", Port: 5673, TLS: true},
	} {
		plan, err := o.plan()
		if err != nil {
			t.Fatalf("%+v: plan = %v", o, err)
		}
		u, err := ParseBrokerURI(plan.uri)
		if err != nil || u.Username != cmp(o.Username, "guest") || u.Password != cmp(o.Password, "guest") || u.Vhost != cmp(o.VirtualHost, "/") {
			t.Fatalf("%+v: %+v, %v", o, u, err)
		}
	}
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
