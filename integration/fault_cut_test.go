package integration

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/registry"
)

// cutRelay forwards TCP connections to a broker. cut stops forwarding on
// every connection open now, without closing anything (a link that drops
// packets: no FIN, no RST); connections made afterwards pass.
type cutRelay struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	open     []*relayPair
	wg       sync.WaitGroup
}

type relayPair struct {
	cut        atomic.Bool
	down, up   net.Conn
	unblockers chan struct{}
}

func startRelay(t *testing.T, upstream string) *cutRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &cutRelay{ln: ln, upstream: upstream}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			p := &relayPair{down: c, up: u, unblockers: make(chan struct{})}
			relayPairs.Store(p, struct{}{})
			r.mu.Lock()
			r.open = append(r.open, p)
			r.mu.Unlock()
			r.wg.Add(2)
			go func() { defer r.wg.Done(); p.pipe(u, c) }()
			go func() { defer r.wg.Done(); p.pipe(c, u) }()
		}
	}()
	t.Cleanup(r.close)
	return r
}

// pipe copies src to dst until either fails; once cut, it stops reading,
// so the sender's socket buffers fill and its writes block.
func (p *relayPair) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		if p.cut.Load() {
			<-p.unblockers // held until the relay closes
			return
		}
		n, err := src.Read(buf)
		if n > 0 && !p.cut.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (r *cutRelay) addr() string { return r.ln.Addr().String() }

func (r *cutRelay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.open {
		p.cut.Store(true)
	}
	r.open = nil // new connections pass
}

func (r *cutRelay) close() {
	r.ln.Close()
	r.closeAll() // every pair ever made, cut ones too
	r.wg.Wait()
}

var relayPairs sync.Map // *relayPair -> struct{}

func (r *cutRelay) closeAll() {
	relayPairs.Range(func(k, _ any) bool {
		p := k.(*relayPair)
		p.down.Close()
		p.up.Close()
		select {
		case <-p.unblockers:
		default:
			close(p.unblockers)
		}
		relayPairs.Delete(k)
		return true
	})
}

// A link cut without FIN while fire-and-forget and confirmed publishers
// stream: every publish returns by its deadline (Warren closes the socket
// a stuck write sits on), the heartbeat finds the dead link, Warren
// reconnects through a new connection, and every publish that returned nil
// with a confirm is in the queue.
func TestFault_CutWithoutFINNoCallPastItsDeadline(t *testing.T) {
	b := StartBroker(t)
	relay := startRelay(t, b.Addr())
	ch := rawChannel(t, b)
	if _, err := ch.QueueDeclare("cut-q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	cfg := oneZone(fmt.Sprintf("amqp://guest:guest@%s/", relay.addr()))
	cfg.Connection.Heartbeat = time.Second
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: 500 * time.Millisecond}
	cfg.RPC.Workers = -1
	tree, _ := startTree(t, cfg)
	waitReady(t, tree, 20*time.Second)
	waitPublishersReady(t, tree, 10*time.Second)

	const deadline, slack = time.Second, 500 * time.Millisecond
	var confirmed, worst atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	body := make([]byte, 4096)
	for i := range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				start := time.Now()
				var err error
				if i%2 == 0 {
					err = tree.Publish(ctx, "", "cut-q", body, publish.Confirm())
				} else {
					err = tree.Publish(ctx, "", "cut-q-none", body) // fire-and-forget flood
				}
				cancel()
				if over := time.Since(start) - deadline; over > time.Duration(worst.Load()) {
					worst.Store(int64(over))
				}
				if err == nil && i%2 == 0 {
					confirmed.Add(1)
				}
			}
		})
	}
	pollUntil(t, 10*time.Second, "publishes flowing", func() bool { return confirmed.Load() > 50 })
	relay.cut()
	rid := relay.addr()
	waitConn(t, tree, actors.ConnID(rid, registry.Publish), 20*time.Second, "the publishing connection lost", func(c registry.Connection) bool {
		return !c.Available
	})
	waitConn(t, tree, actors.ConnID(rid, registry.Publish), 30*time.Second, "connected again", func(c registry.Connection) bool {
		return c.Available
	})
	before := confirmed.Load()
	pollUntil(t, 20*time.Second, "confirmed publishes again", func() bool { return confirmed.Load() > before+50 })
	close(stop)
	wg.Wait()
	if w := time.Duration(worst.Load()); w > slack {
		t.Fatalf("a publish returned %v past its %v deadline", w, deadline)
	}
	n := confirmed.Load()
	pollUntil(t, 20*time.Second, "every confirmed publish in the queue", func() bool {
		q, err := ch.QueueDeclarePassive("cut-q", false, false, false, false, nil)
		return err == nil && int64(q.Messages) >= n
	})
	t.Logf("%d confirmed publishes, all in the queue; longest call past its deadline %v", n, time.Duration(worst.Load()).Round(time.Millisecond))
}
