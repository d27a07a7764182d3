package listener

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestRedeliveredEnough(t *testing.T) {
	tests := []struct {
		name string
		d    amqp.Delivery
		max  int
		want bool
	}{
		{"first delivery", amqp.Delivery{}, 1, false},
		{"first delivery with a stale count", amqp.Delivery{Headers: amqp.Table{"x-delivery-count": int64(9)}}, 1, false},
		{"redelivered, classic queue", amqp.Delivery{Redelivered: true}, 1, true},
		{"redelivered, classic queue, higher bound", amqp.Delivery{Redelivered: true}, 5, true},
		{"quorum count below", amqp.Delivery{Redelivered: true, Headers: amqp.Table{"x-delivery-count": int64(2)}}, 3, false},
		{"quorum count at", amqp.Delivery{Redelivered: true, Headers: amqp.Table{"x-delivery-count": int64(3)}}, 3, true},
		{"quorum count int32", amqp.Delivery{Redelivered: true, Headers: amqp.Table{"x-delivery-count": int32(1)}}, 1, true},
	}
	for _, tc := range tests {
		if got := redeliveredEnough(tc.d, tc.max); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRetryPolicy_BackoffIsJitteredAndCapped(t *testing.T) {
	r := RetryPolicy{Backoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}
	for range 200 {
		for n, base := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 5: 1600 * time.Millisecond,
			6: 2 * time.Second, 60: 2 * time.Second} {
			if d := r.backoff(n); d < base/2 || d > base {
				t.Fatalf("backoff after run %d: %v, want within [%v, %v]", n, d, base/2, base)
			}
		}
	}
}

func TestSpec_FailureDefaultsAndChecks(t *testing.T) {
	raw := func(context.Context, *Delivery) error { return nil }
	s, err := Spec{Name: "x", Raw: raw}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	want := RetryPolicy{Attempts: DefaultRetryAttempts, Backoff: DefaultRetryBackoff, MaxBackoff: DefaultRetryMaxBackoff, MaxRedeliveries: DefaultMaxRedeliveries}
	if s.Retry != want || s.OnError != DeadLetter || s.Dedup != (DedupSpec{}) {
		t.Fatalf("defaults: retry %+v, on error %v, dedup %+v", s.Retry, s.OnError, s.Dedup)
	}
	if s, _ := (Spec{Name: "x", Raw: raw, Dedup: DedupSpec{Window: time.Minute}}).normalize(); s.Dedup.Entries != DefaultDedupEntries {
		t.Fatalf("dedup entries %d", s.Dedup.Entries)
	}
	if s, _ := (Spec{Name: "x", Raw: raw, Retry: RetryPolicy{Backoff: 5 * time.Second}}).normalize(); s.Retry.MaxBackoff != 5*time.Second {
		t.Fatalf("a backoff above the default max: max %v", s.Retry.MaxBackoff)
	}
	for _, bad := range []Spec{
		{Name: "x", Raw: raw, Retry: RetryPolicy{Attempts: -1}},
		{Name: "x", Raw: raw, Retry: RetryPolicy{Backoff: time.Second, MaxBackoff: time.Millisecond}},
		{Name: "x", Raw: raw, OnError: ErrorPolicy(7)},
		{Name: "x", Raw: raw, Dedup: DedupSpec{Window: -time.Second}},
	} {
		if _, err := bad.normalize(); err == nil {
			t.Errorf("%+v %+v %+v: accepted", bad.Retry, bad.OnError, bad.Dedup)
		}
	}
}

func TestErrText_RedactedAndBounded(t *testing.T) {
	long := strings.Repeat("é", 700) // 1,400 bytes
	got := errText(errors.New("dial amqp://u:hunter2@h/: " + long))
	if strings.Contains(got, "hunter2") || len(got) > MaxErrorHeader || !utf8.ValidString(got) {
		t.Fatalf("errText: %d bytes, valid %v: %.80q", len(got), utf8.ValidString(got), got)
	}
}

func TestErrorQueue(t *testing.T) {
	if q := ErrorQueue("l", QueueSpec{Name: "q", Durable: true}, "q"); q != "q_error" {
		t.Fatal(q)
	}
	if q := ErrorQueue("l", QueueSpec{AutoDelete: true}, "warren-l-00"); q != "l_error" {
		t.Fatal(q)
	}
	if q := ErrorQueue("l", QueueSpec{Exclusive: true}, "q"); q != "l_error" {
		t.Fatal(q)
	}
}
