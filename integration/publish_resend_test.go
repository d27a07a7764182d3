package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// Confirmed, persistent publishes from several goroutines while the broker
// is stopped gracefully (SIGTERM, as rabbitmqctl stop: its connections are
// closed with 320 CONNECTION_FORCED) and started again: a publish whose
// channel closed before its ack is resent once the broker is back, so not
// one fails, and every one is in the durable queue afterwards (some twice:
// at least once).
func TestFault_PublishConfirmedResentThroughAGracefulRestart(t *testing.T) {
	b := StartBroker(t)
	const exchange, queue, key = "pub.resend", "pub.resend.q", "k"
	conn := dial(t, b.URI(), "test-setup", 10*time.Second)
	pubDeclareBound(t, conn, exchange, queue, key)
	_ = conn.Close()

	cfg := oneZone(b.URI())
	cfg.Connection.Backoff = actors.Backoff{First: 200 * time.Millisecond, Max: time.Second}
	cfg.Publish = publish.Config{Publishers: 2, MaxWait: 90 * time.Second, ConfirmTimeout: 90 * time.Second}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	waitPublishersReady(t, tree, 10*time.Second)
	id := brokerID(t, b)

	const workers = 8
	var (
		okCount   testkit.Counter // confirmed publishes; Await on its Changed
		mu        sync.Mutex
		succeeded = map[string]bool{}
		failures  = map[string]int{}
		wg        sync.WaitGroup
		stop      = make(chan struct{})
	)
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				msgID := fmt.Sprintf("m-%d-%d", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				err := tree.Publish(ctx, exchange, key, []byte(`{"id":"`+msgID+`"}`), publish.Confirm(), publish.Persistent(), publish.MessageID(msgID))
				cancel()
				mu.Lock()
				if err == nil {
					succeeded[msgID] = true
					okCount.Add(1)
				} else {
					failures[err.Error()]++
				}
				mu.Unlock()
			}
		})
	}
	testkit.Await(t, 30*time.Second, "1000 confirmed publishes before the stop", okCount.Changed, func() bool { return okCount.Load() >= 1000 })
	b.Stop(t)
	waitConn(t, tree, id, 10*time.Second, "down", func(c registry.Connection) bool { return !c.Available })
	before := okCount.Load()
	b.Start(t)
	waitConn(t, tree, id, 30*time.Second, "connected again", func(c registry.Connection) bool { return c.State == registry.Connected })
	testkit.Await(t, 30*time.Second, "1000 more confirmed after the restart", okCount.Changed, func() bool { return okCount.Load() >= before+1000 })
	close(stop)
	wg.Wait()

	rows := waitPublishers(t, tree, 5*time.Second, "rows", func([]registry.Publisher) bool { return true })
	resent := pubTotal(rows, func(r registry.Publisher) uint64 { return r.Resent })
	got := pubConsumeAll(t, b.URI(), queue)
	var missing []string
	for msgID := range succeeded {
		if got[msgID] == 0 {
			missing = append(missing, msgID)
		}
	}
	dups := 0
	for _, n := range got {
		dups += n - 1
	}
	t.Logf("%d confirmed, %d failed %v; %d resent; queue holds %d distinct messages, %d duplicates",
		len(succeeded), pubSum(failures), failures, resent, len(got), dups)
	if len(failures) > 0 {
		t.Errorf("publishes failed through a graceful restart: %v", failures)
	}
	if len(missing) > 0 {
		t.Fatalf("%d confirmed messages lost, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
}
