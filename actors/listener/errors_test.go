package listener

import (
	"errors"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestBindingError_KeepsItsTextAndUnwrapsTheBrokersError(t *testing.T) {
	cause := &amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND - no exchange 'x' in vhost '/'", Recover: true}
	b := Binding{Exchange: "x", RoutingKey: "k"}
	tests := []struct {
		name string
		err  *BindingError
		want string
	}{
		{"a refused bind names the listener and the binding", &BindingError{Listener: "l", Op: "bind", Binding: b, Err: cause},
			"warren: listener l: bind x/k: " + cause.Error()},
		{"a failed unbind says the next channel retries it", &BindingError{Listener: "l", Op: "unbind", Binding: b, Retried: true, Err: cause},
			"warren: listener l: unbind x/k (retried on the next channel): " + cause.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("Error() = %q, want %q", got, tt.want)
			}
			var ae *amqp.Error
			if !errors.As(tt.err, &ae) || ae.Code != amqp.NotFound {
				t.Fatalf("errors.As(*amqp.Error) = %v, want the 404 it wraps", ae)
			}
		})
	}
	if err := (&BindingError{Op: "bind", Err: amqp.ErrClosed}); !errors.Is(err, amqp.ErrClosed) {
		t.Fatal("errors.Is(BindingError{Err: amqp.ErrClosed}, amqp.ErrClosed) = false")
	}
}
