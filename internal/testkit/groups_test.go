package testkit

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Groups lets its waiters go N at a time, and a group not yet full holds
// them until their ctx ends.
func TestGroups_ReleasesFullGroupsOnly(t *testing.T) {
	g := &Groups{N: 3}
	done := make(chan error, 4)
	for range 3 {
		go func() { done <- g.Wait(context.Background()) }()
	}
	for range 3 {
		if err := Recv(t, done, 5*time.Second, "a full group's waiter"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- g.Wait(ctx) }()
	Quiet(t, done, "the waiter of a group of one")
	cancel()
	if err := Recv(t, done, 5*time.Second, "the waiter whose ctx ended"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v; want context.Canceled", err)
	}
}
