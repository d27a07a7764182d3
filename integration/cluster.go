package integration

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"
)

// StartCluster starts n fresh nodes (n >= 2) that share an Erlang cookie and joins the second
// and the following to the first (rabbitmqctl stop_app, join_cluster, start_app), so that the n
// nodes are one RabbitMQ cluster: queues and exchanges declared on one are seen on all, and a
// quorum queue keeps its messages while a majority of them runs. Each is killed at cleanup.
// The nodes are returned in start order; the first is the one the others joined.
func StartCluster(t testing.TB, n int, opts ...BrokerOption) []*Broker {
	t.Helper()
	if n < 2 {
		t.Fatalf("integration: StartCluster(%d): a cluster needs 2 nodes or more", n)
	}
	cookie := "WARRENCLUSTER" + rand.Text()[:16] // base32: upper case and digits
	opts = append(append([]BrokerOption(nil), opts...), WithCookie(cookie))
	nodes := make([]*Broker, 0, n)
	for range n {
		nodes = append(nodes, StartBroker(t, opts...))
	}
	for _, b := range nodes[1:] {
		start := time.Now()
		b.Ctl(t, "stop_app")
		b.Ctl(t, "join_cluster", nodes[0].Name)
		b.Ctl(t, "start_app")
		ctx, cancel := context.WithTimeout(context.Background(), DefaultBootTimeout)
		err := b.WaitReady(ctx)
		cancel()
		if err != nil {
			t.Fatalf("integration: %s after joining %s: %v\n%s", b.Name, nodes[0].Name, err, b.LogTail(30))
		}
		t.Logf("integration: %s joined %s in %v", b.Name, nodes[0].Name, time.Since(start).Round(time.Millisecond))
	}
	out := nodes[0].Ctl(t, "cluster_status", "--formatter", "json")
	for _, b := range nodes {
		if !strings.Contains(out, b.Name) {
			t.Fatalf("integration: %s missing from the cluster status of %s:\n%s", b.Name, nodes[0].Name, out)
		}
	}
	return nodes
}

// ClusterURIs are the guest URIs of nodes, for one zone that lists them all.
func ClusterURIs(nodes []*Broker) []string {
	var uris []string
	for _, b := range nodes {
		uris = append(uris, b.URI())
	}
	return uris
}
