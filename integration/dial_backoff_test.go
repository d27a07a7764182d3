package integration

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// countingPort is a TCP listener of the test's own that stands for a port
// whose dial fails after the TCP connect: each connection it accepts is
// timed and handed to serve.
type countingPort struct {
	ln    net.Listener
	mu    sync.Mutex
	times []time.Time
	wg    sync.WaitGroup
}

func newCountingPort(t *testing.T, serve func(net.Conn)) *countingPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingPort{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.times = append(p.times, time.Now())
			p.mu.Unlock()
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *countingPort) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// accepts returns the times of the connections accepted so far.
func (p *countingPort) accepts() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.times...)
}

// forwardTo relays each connection to addr (a real node's port), both ways,
// until either side closes.
func forwardTo(addr string) func(net.Conn) {
	return func(c net.Conn) {
		defer c.Close()
		up, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return
		}
		defer up.Close()
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(up, c); up.Close(); done <- struct{}{} }()
		go func() { _, _ = io.Copy(c, up); c.Close(); done <- struct{}{} }()
		<-done
		<-done
	}
}

// A port that accepts TCP but where the dial fails later (the connection
// is closed at once, answered with garbage, or a TLS dial reaches a plain
// AMQP port) is redialled on the backoff, never as soon as the port probe
// connects: in 10 s with a 0.5–5 s backoff Warren dials a handful of times
// (before the fix: 330–361 dials in 11–12 s), and each dial comes when the
// connection's row said it would (next_dial).
func TestConnection_DialFailingAfterTCPWaitsItsBackoff(t *testing.T) {
	node := StartBroker(t)
	cases := []struct {
		name  string
		serve func(net.Conn)
		tls   bool
	}{
		{"accept and close", func(c net.Conn) { c.Close() }, false},
		{"accept and answer garbage", func(c net.Conn) {
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"))
			c.Close()
		}, false},
		{"TLS to a real node's plain port", forwardTo(node.Addr()), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each waits 10 s on a port of its own
			port := newCountingPort(t, tc.serve)
			scheme := "amqp"
			if tc.tls {
				scheme = "amqps"
			}
			uri := scheme + "://guest:guest@127.0.0.1:" + strconv.Itoa(port.port()) + "/"
			cfg := bare(oneZone(uri))
			cfg.Connection.InsecureSkipVerify = true
			cfg.Connection.Backoff = actors.Backoff{First: 500 * time.Millisecond, Max: 5 * time.Second}
			id, err := actors.BrokerID(uri)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			tree, _ := treetest.Start(t, cfg)

			// Every next_dial the row announces, in order.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var announced []time.Time
			var last registry.Connection
			for {
				row, err := tree.Registry().WaitConnection(ctx, id, func(c registry.Connection) bool {
					return !c.NextDial.IsZero() && !c.NextDial.Equal(last.NextDial)
				})
				if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				last = row
				announced = append(announced, row.NextDial)
			}
			elapsed := time.Since(start)
			dials := port.accepts()
			// The port sees each dial, and each probe's bare connect.
			t.Logf("%s: %d TCP connections to the port in %v, the row counts %d dials (last error %q)",
				tc.name, len(dials), elapsed.Round(time.Millisecond), last.Attempts, last.LastError)
			if len(dials) < 3 {
				t.Fatalf("only %d dials in %v: the connection stopped dialling", len(dials), elapsed)
			}
			// 0.5–5 s backoff: delays from 0.25 s up, ceilings 0.5, 1, 2, 4, 5 s.
			if len(dials) > 12 || last.Attempts > 12 {
				t.Fatalf("%d connections, %d dials in %v: the backoff was skipped", len(dials), last.Attempts, elapsed)
			}
			if last.Attempts < len(dials)-1 { // the last dial may still be in flight
				t.Errorf("%d connections for %d dials: something else connects (the port probe?)", len(dials), last.Attempts)
			}
			if last.LastError == "" {
				t.Error("the row has no last error")
			}
			// Dial i+1 comes at the next_dial announced after dial i failed.
			for i := 1; i < len(dials) && i-1 < len(announced); i++ {
				want := announced[i-1]
				if d := dials[i].Sub(want); d < -50*time.Millisecond || d > 500*time.Millisecond {
					t.Errorf("dial %d at %s: the row announced %s (%+v off)", i+1,
						dials[i].Format("15:04:05.000"), want.Format("15:04:05.000"), d.Round(time.Millisecond))
				}
			}
		})
	}
}
