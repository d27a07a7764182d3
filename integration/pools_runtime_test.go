package integration

import (
	"errors"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// A workers pool added while the tree runs, pinned to the node's broker,
// serves calls; the node lists its channels and its reply queues'
// consumers while it runs and none of them once it is removed.
func TestPools_AddedAtRunTimeServesCalls(t *testing.T) {
	b := StartBroker(t)
	tree := rpcTree(t, b)
	responder(t, tree, "authn", "s3cr3t", 0)
	broker := tree.Registry().Connections()[0].Broker
	const size = 3
	const consumers = "warren_worker-rtpool-" // the pool's reply queues: <node>-warren_worker-rtpool-N-<hex>
	if n := ctlCount(t, b, consumers, "list_consumers", "queue_name"); n != 0 {
		t.Fatalf("the node lists %d consumers of rtpool's reply queues before it was added", n)
	}
	before := ctlCount(t, b, "", "list_channels", "number")

	added := time.Now()
	if err := tree.AddPool(within(t, 10*time.Second), supervisor.PoolSpec{Name: "rtpool", Kind: supervisor.Workers, Broker: broker, Size: size}); err != nil {
		t.Fatal(err)
	}
	spawned := time.Since(added)
	treetest.Eventually(t, tree, 15*time.Second, "rtpool's workers ready", func() bool {
		n := 0
		for _, w := range tree.Registry().Workers() {
			if w.Pool == "rtpool" && w.State == registry.WorkerReady {
				n++
			}
		}
		return n == size
	})
	t.Logf("AddPool returned in %v, its %d workers ready (reply queues consumed) in %v", spawned, size, time.Since(added))
	testkit.Poll(t, 20*time.Second, "the node lists a consumer on each of rtpool's reply queues", func() bool {
		return ctlCount(t, b, consumers, "list_consumers", "queue_name") == size
	})
	testkit.Poll(t, 20*time.Second, "the node lists rtpool's channels", func() bool {
		return ctlCount(t, b, "", "list_channels", "number") == before+size
	})
	for range 5 {
		req := authnReq("example.com")
		req.Pool = "rtpool"
		reply, err := tree.Call(within(t, 5*time.Second), req)
		if err != nil {
			t.Fatalf("call through rtpool: %v", err)
		}
		if got, _ := reply["Auth-Password"].(string); got != "s3cr3t" {
			t.Fatalf("reply through rtpool = %v", reply)
		}
	}
	treetest.Eventually(t, tree, 5*time.Second, "rtpool's rows count the 5 calls", func() bool {
		calls := uint64(0)
		for _, w := range tree.Registry().Workers() {
			if w.Pool == "rtpool" {
				calls += w.Calls
			}
		}
		return calls == 5
	})

	removing := time.Now()
	if err := tree.RemovePool(within(t, 10*time.Second), "rtpool"); err != nil {
		t.Fatalf("RemovePool: %v", err)
	}
	t.Logf("RemovePool (idle pool) returned in %v", time.Since(removing))
	testkit.Poll(t, 20*time.Second, "the node lists no consumer of rtpool's reply queues", func() bool {
		return ctlCount(t, b, consumers, "list_consumers", "queue_name") == 0
	})
	testkit.Poll(t, 20*time.Second, "the node lists the channels of before", func() bool {
		return ctlCount(t, b, "", "list_channels", "number") == before
	})
	req := authnReq("example.com")
	req.Pool = "rtpool"
	if _, err := tree.Call(within(t, 5*time.Second), req); !errors.Is(err, supervisor.ErrNoPool) {
		t.Fatalf("call through the removed pool = %v, want ErrNoPool", err)
	}
}
