package main

import (
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit/treetest"
)

// A pool added, listed and removed from the CLI against a running warren
// (null broker): each command says what changed; a refused one exits 1
// with the server's reason.
func TestPoolsCLI_AddListRemove(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	r := startRun(t, nil, "--url", nb.URL())
	treetest.WaitReady(t, r.tree, 10*time.Second)
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"pools", "add", "billing", "--kind", "workers", "--broker", nb.Addr(), "--size", "1"}, "workers pool billing added (pinned to broker " + nb.Addr() + ")"},
		{[]string{"pools"}, "billing"},
		{[]string{"pools", "remove", "billing"}, "pool billing drained and removed"},
	}
	for _, s := range steps {
		code, out, errOut := warren(t, append(s.args, "--admin", r.addr)...)
		if code != exitOK || !strings.Contains(out, s.want) {
			t.Fatalf("warren %s = %d\n%s%s\nwant it to say %q", strings.Join(s.args, " "), code, out, errOut, s.want)
		}
	}
	for _, p := range r.tree.Pools() {
		if p.Name == "billing" {
			t.Fatalf("pool billing still in the tree after 'pools remove': %+v", p)
		}
	}
	code, _, errOut := warren(t, "pools", "remove", "billing", "--admin", r.addr)
	if code != exitError || !strings.Contains(errOut, "404 Not Found") {
		t.Errorf("a second 'pools remove billing' = %d\n%s: want exit 1, 404", code, errOut)
	}
	code, _, errOut = warren(t, "pools", "add", "x", "--kind", "nope", "--admin", r.addr)
	if code != exitUsage || !strings.Contains(errOut, `kind "nope"`) {
		t.Errorf("'pools add x --kind nope' = %d\n%s: want a usage error naming the kind", code, errOut)
	}
}
