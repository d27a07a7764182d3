package actors

import (
	"testing"
	"time"
)

func TestBackoff_CeilingDoublesUpToMax(t *testing.T) {
	b := Backoff{First: 500 * time.Millisecond, Max: 5 * time.Second}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := b.Ceiling(i + 1); got != w {
			t.Errorf("Ceiling(%d) = %v, want %v", i+1, got, w)
		}
	}
}

func TestBackoff_DelayStaysWithinFloorAndCeiling(t *testing.T) {
	b := Backoff{First: 400 * time.Millisecond, Max: 3 * time.Second}
	for n := 1; n <= 8; n++ {
		lo, hi := b.First/2, b.Ceiling(n)
		seen := map[time.Duration]bool{}
		for range 200 {
			d := b.Delay(n)
			if d < lo || d > hi {
				t.Fatalf("Delay(%d) = %v, outside [%v, %v]", n, d, lo, hi)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("Delay(%d) drew only %d distinct values: no jitter", n, len(seen))
		}
	}
}

func TestBackoff_DefaultsDependOnZone(t *testing.T) {
	tests := []struct {
		name  string
		given Backoff
		local bool
		want  Backoff
	}{
		{"local zone caps at 5s", Backoff{}, true, Backoff{First: DefaultBackoffFirst, Max: DefaultBackoffMax}},
		{"remote zone caps at 60s", Backoff{}, false, Backoff{First: DefaultBackoffFirst, Max: DefaultRemoteBackoffMax}},
		{"max below first is raised", Backoff{First: 2 * time.Second, Max: time.Second}, true, Backoff{First: 2 * time.Second, Max: 2 * time.Second}},
		{"max attempts kept", Backoff{MaxAttempts: 3}, true, Backoff{First: DefaultBackoffFirst, Max: DefaultBackoffMax, MaxAttempts: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.given.withDefaults(tt.local); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestBackoff_MaxDelayIsJitteredInUpperHalf(t *testing.T) {
	b := Backoff{First: time.Second, Max: 8 * time.Second}
	seen := map[time.Duration]bool{}
	for range 200 {
		d := b.MaxDelay()
		if d < 4*time.Second || d > 8*time.Second {
			t.Fatalf("MaxDelay = %v, want within [4s, 8s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Fatal("MaxDelay is not jittered: nodes refused together would redial in lockstep")
	}
	if d := (Backoff{Max: 1}).MaxDelay(); d != 1 {
		t.Fatalf("MaxDelay of a 1ns cap = %v", d)
	}
}
