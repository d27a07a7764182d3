// Command nullbroker runs Warren's in-process AMQP 0-9-1 broker
// (internal/nullbroker: it answers the handshake, declares, binds and
// consumes, and acks every publish at once) as a process of its own: it
// prints its URL on stdout and serves until its stdin ends. `warren bench
// --sink` starts it as a child so that the bench process's CPU time is the
// clients' own; `make bench-sink` builds it and runs that bench.
//
// It is a development tool, not part of the warren command: the null
// broker is the tests' broker, and the shipped binary links no test code.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/warrenmq/warren/internal/nullbroker"
)

func main() {
	s, err := nullbroker.Start(nullbroker.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nullbroker:", err)
		os.Exit(1)
	}
	defer s.Close()
	fmt.Println(s.URL())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes our stdin (or dies)
}
