// Package treetest starts Warren trees for tests and waits on their
// registry: the tree helpers of [github.com/warrenmq/warren/internal/testkit],
// in a package of their own because they import supervisor. Tests of a
// package that supervisor imports use them from an external test package
// (package actors_test, listener_test...).
//
//	nb := treetest.NullBroker(t, nullbroker.Config{}) // closed at cleanup, after the tree
//	tree, logs := treetest.Start(t, cfg)          // shut down at cleanup; logs shown on failure
//	treetest.WaitReady(t, tree, 10*time.Second)
//	treetest.Eventually(t, tree, 5*time.Second, "two prechannels", func() bool { ... })
//	p := treetest.SpawnProbe(t, tree, "p", actors.RequestChannel{App: "test"})
//	a, _ := p.Assigned(t, 5*time.Second)
//
// Eventually re-checks its condition only when a registry table changes
// (the registry's memdb watches); nothing here polls.
package treetest
