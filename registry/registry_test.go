package registry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSchema_Validates(t *testing.T) {
	if err := schema().Validate(); err != nil {
		t.Fatal(err)
	}
}

// must fails the test on a write's error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// putConns writes rows in one transaction of the connections table.
func putConns(t testing.TB, w *Writers, rows ...Connection) {
	t.Helper()
	must(t, w.Connections.Write(func(tx *ConnectionsTx) error {
		for _, c := range rows {
			if err := tx.PutConnection(c); err != nil {
				return err
			}
		}
		return nil
	}))
}

// putAssignments writes rows in one transaction of the assignments table.
func putAssignments(t testing.TB, w *Writers, rows ...Assignment) {
	t.Helper()
	must(t, w.Assignments.Write(func(tx *AssignmentsTx) error {
		for _, a := range rows {
			if err := tx.PutAssignment(a); err != nil {
				return err
			}
		}
		return nil
	}))
}

func TestRegistry_PrimaryIsSmallestAvailableBrokerOfZone(t *testing.T) {
	r, w := New()
	putConns(t, w,
		Connection{ID: "b:5672", Zone: "z1", Available: true},
		Connection{ID: "a:5672", Zone: "z1", Available: false},
		Connection{ID: "c:5672", Zone: "z1", Available: true},
		Connection{ID: "0:5672", Zone: "z2", Available: true})
	p, ok := r.Primary("z1")
	if !ok || p.ID != "b:5672" {
		t.Fatalf("primary of z1 = %q, %v; want b:5672", p.ID, ok)
	}
	if got := r.Available("z1"); len(got) != 2 || got[1].ID != "c:5672" {
		t.Fatalf("available z1 = %+v", got)
	}
	if _, ok := r.Primary("z3"); ok {
		t.Fatal("empty zone has a primary")
	}
}

func TestRegistry_WaitAvailableWakesOnCommit(t *testing.T) {
	r, w := New()
	putConns(t, w, Connection{ID: "a", Zone: "local"})
	go func() {
		putConns(t, w, Connection{ID: "x", Zone: "other", Available: true})
		putConns(t, w, Connection{ID: "a", Zone: "local", Available: true})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := r.WaitAvailable(ctx, "local")
	if err != nil || c.ID != "a" {
		t.Fatalf("WaitAvailable = %+v, %v", c, err)
	}
}

func TestRegistry_WaitAvailableEndsWithContext(t *testing.T) {
	r, _ := New()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := r.WaitAvailable(ctx, "local")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestRegistry_WaitAssignedCountsWatchers(t *testing.T) {
	r, w := New()
	putAssignments(t, w, Assignment{ID: "c1", Consumer: "c1", State: Waiting, Type: Float})
	done := make(chan Assignment)
	go func() {
		a, err := r.WaitAssigned(context.Background(), "c1")
		if err != nil {
			t.Error(err)
		}
		done <- a
	}()
	// The watcher shows up in the table view while it waits: a wait on the
	// table wakes when the count changes.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.Wait(ctx, func(s *Snapshot) (bool, error) {
		rows := s.Assignments()
		return len(rows) == 1 && rows[0].Watchers == 1, nil
	})
	if err != nil {
		t.Fatalf("watcher never counted: %v", err)
	}
	putAssignments(t, w, Assignment{ID: "c1", Consumer: "c1", State: Assigned, Broker: "b", Channel: "b#1"})
	if a := <-done; a.Channel != "b#1" {
		t.Fatalf("assigned row = %+v", a)
	}
	if rows := r.Assignments(); rows[0].Watchers != 0 {
		t.Fatalf("watchers after wake = %d", rows[0].Watchers)
	}
}

func TestRegistry_TreeNestsChildrenByParent(t *testing.T) {
	r, w := New()
	for _, a := range []Actor{
		{Path: "warren", Name: "warren", Kind: Supervisor, Status: Running},
		{Path: "warren/connection_sup", Parent: "warren", Name: "connection_sup", Kind: Supervisor},
		{Path: "warren/connection_sup/a", Parent: "warren/connection_sup", Name: "a", Restarts: 2},
		{Path: "warren/assignments", Parent: "warren", Name: "assignments"},
	} {
		must(t, w.Actors.PutActor(a))
	}
	tree := r.Tree("warren")
	if tree == nil || len(tree.Children) != 2 || tree.Children[0].Name != "assignments" {
		t.Fatalf("tree = %+v", tree)
	}
	if sup := tree.Children[1]; len(sup.Children) != 1 || sup.Children[0].Restarts != 2 {
		t.Fatalf("connection_sup = %+v", sup)
	}
}

func TestRegistry_ConnectionsCountTheirChannels(t *testing.T) {
	r, w := New()
	putConns(t, w, Connection{ID: "b", Zone: "z", Available: true})
	putAssignments(t, w,
		Assignment{ID: "b#1", Channel: "b#1", Broker: "b", State: Prechannel},
		Assignment{ID: "c1", Consumer: "c1", Channel: "b#2", Broker: "b", State: Assigned},
		Assignment{ID: "c2", Consumer: "c2", Broker: "b", State: Reconnecting},
		Assignment{ID: "x#1", Channel: "x#1", Broker: "x", State: Prechannel})
	if c, _ := r.Connection("b"); c.Channels != 3 {
		t.Fatalf("channels = %d, want control + prechannel + assigned", c.Channels)
	}
	if cs := r.Connections(); cs[0].Channels != 3 {
		t.Fatalf("channels = %d", cs[0].Channels)
	}
}

// ConnectionRows reads the connections table alone: the rows of
// Connections without their channel count, and a wait that read them is
// not woken by a channel assigned (memdb closes the watched channels of a
// write at its commit, so the check below needs no wait).
func TestRegistry_ConnectionRowsWatchOnlyTheConnections(t *testing.T) {
	r, w := New()
	putConns(t, w, Connection{ID: "b", Zone: "z", Available: true}, Connection{ID: "c", Zone: "z"})
	rows, counted := r.watching(), r.watching()
	got, want := rows.ConnectionRows(), counted.Connections()
	if len(got) != 2 || got[0].ID != "b" || got[1].ID != "c" || got[0].Channels != 0 || want[0].Channels != 1 {
		t.Fatalf("ConnectionRows = %+v; Connections = %+v", got, want)
	}
	putAssignments(t, w, Assignment{ID: "b#1", Channel: "b#1", Broker: "b", State: Prechannel})
	if fired(rows) || !fired(counted) {
		t.Fatalf("after a channel assigned: ConnectionRows' watches fired %v (want false), Connections' %v (want true)", fired(rows), fired(counted))
	}
	putConns(t, w, Connection{ID: "b", Zone: "z"})
	if !fired(rows) {
		t.Fatal("a connection row changed and ConnectionRows' watches did not fire")
	}
}
