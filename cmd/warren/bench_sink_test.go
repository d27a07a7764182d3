package main

import (
	"errors"
	"strings"
	"testing"
)

// --sink runs the null broker as a command of its own; without one it is
// a usage error that says how to build it.
func TestFindNullBroker_GivenElseNextToWarrenElsePathElseHowToBuildIt(t *testing.T) {
	if got, err := findNullBroker("/opt/x/nullbroker"); err != nil || got != "/opt/x/nullbroker" {
		t.Fatalf("findNullBroker(given) = %q, %v; want the given command", got, err)
	}
	t.Setenv("PATH", t.TempDir()) // no nullbroker there; none next to the test binary either
	_, err := findNullBroker("")
	var usage *usageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "go build -o bin/nullbroker ./cmd/nullbroker") {
		t.Fatalf("findNullBroker(\"\") without one = %v; want a usage error saying how to build it", err)
	}
}
