package supervisor

import (
	"errors"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"go.opentelemetry.io/otel/trace"
)

// Option changes how the tree runs.
type Option func(*options) error

type options struct {
	log    *slog.Logger
	system *actor.ActorSystem
	tp     trace.TracerProvider
}

// WithLogger sets the logger of every Warren actor (narrowed per actor).
// Defaults to slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("warren: WithLogger: nil logger")
		}
		o.log = l
		return nil
	}
}

// WithActorSystem starts the tree in the embedding application's actor
// system. Defaults to a new system whose protoactor logs go to the Warren
// logger at Warn level.
func WithActorSystem(sys *actor.ActorSystem) Option {
	return func(o *options) error {
		if sys == nil {
			return errors.New("warren: WithActorSystem: nil system")
		}
		o.system = sys
		return nil
	}
}

// WithTracerProvider traces the tree's publishes, deliveries, calls and
// replies with tp's tracer, and carries their W3C trace context
// (traceparent, tracestate) in AMQP headers: a handler's ctx continues
// the trace of the message it handles. Defaults to none: tracing off, no
// header, no span, no cost (see package actors/tracing).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) error {
		if tp == nil {
			return errors.New("warren: WithTracerProvider: nil provider")
		}
		o.tp = tp
		return nil
	}
}

// DiscardLogger is a logger that drops everything (tests, examples).
func DiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
