package supervisor

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/registry"
)

// nullBroker starts an in-process broker with password pw, closed when
// the test ends (after a tree started later).
func nullBroker(t *testing.T, pw string) *nullbroker.Server {
	t.Helper()
	nb, err := nullbroker.Start(nullbroker.Config{Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nb.Close() })
	return nb
}

// readyTreeOn starts a tree on uri (the local zone's only broker), shut
// down when the test ends, and waits until it is ready.
func readyTreeOn(t *testing.T, uri string) *Tree {
	t.Helper()
	tr, err := Start(Config{Zones: []Zone{{Name: "local", Brokers: []string{uri}}}}, WithLogger(DiscardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tr.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestAdminBrokers_SummaryCountsFloatsAndStickiesPerBroker(t *testing.T) {
	tr := adminTestTree(t)
	fillAdminRows(t, tr)
	adminWrite(t, tr, func(w adminTx) error {
		return w.PutAssignment(registry.Assignment{ID: "warren/l3", Channel: "a:5672#4", Consumer: "warren/l3", Type: registry.Sticky,
			Broker: "a:5672", Zone: "local", State: registry.Assigned, AssignedAt: time.Now()})
	})
	var rows []AdminBrokerSummary
	code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/brokers", &rows)
	if code != http.StatusOK || len(rows) != 2 {
		t.Fatalf("GET /brokers = %d %s, want 2 brokers", code, body)
	}
	a, b := rows[0], rows[1]
	if a.ID != "a:5672" || a.Floats != 1 || a.Stickies != 1 || a.State != registry.Connected || len(a.Connections) != 1 {
		t.Errorf("broker a = %+v, want 1 float, 1 sticky (prechannels not counted), connected", a)
	}
	if b.ID != "b:5672" || b.Floats != 0 || b.Stickies != 0 {
		t.Errorf("broker b = %+v, want nothing held (its sticky waits)", b)
	}
	if strings.Contains(body, "s3cret") {
		t.Errorf("GET /brokers shows a password: %s", body)
	}
}

// A broker added, drained, undrained and removed through the admin API of
// a running tree (null brokers); each answer says what changed, and the
// added broker's URI is never echoed with its password.
func TestAdminBrokers_AddDrainUndrainRemove(t *testing.T) {
	tokenDir(t)
	a, b := nullBroker(t, "pw-a-0123"), nullBroker(t, "s3cret-b")
	tr := readyTreeOn(t, a.URL())
	s := serveAdminTest(t, tr, "127.0.0.1:0")
	addr, auth := s.addr.String(), "Bearer "+s.token

	var added AdminChange
	res, body := adminDo(t, addr, http.MethodPost, "/brokers", "", auth,
		`{"uri":"`+b.URL()+`","zone":"local","tags":["media"],"hidden":false}`, &added)
	if res.StatusCode != http.StatusCreated || added.ID != b.Addr() || added.Action != "added" {
		t.Fatalf("POST /brokers = %d %s, want 201 with id %s", res.StatusCode, body, b.Addr())
	}
	if strings.Contains(body, "s3cret-b") {
		t.Errorf("the answer echoes the URI's password: %s", body)
	}
	var e AdminError
	if res, body := adminDo(t, addr, http.MethodPost, "/brokers", "", auth, `{"uri":"`+b.URL()+`"}`, &e); res.StatusCode != http.StatusConflict ||
		strings.Contains(body, "s3cret-b") {
		t.Errorf("POST /brokers again = %d %s, want 409 without the password", res.StatusCode, body)
	}
	id := url.PathEscape(added.ID)
	var rows []AdminBrokerSummary
	if res, body := adminDo(t, addr, http.MethodGet, "/brokers", "", "", "", &rows); res.StatusCode != http.StatusOK || len(rows) != 2 {
		t.Fatalf("GET /brokers = %d %s, want both brokers", res.StatusCode, body)
	}
	for _, r := range rows {
		if r.ID == added.ID && (len(r.Tags) != 1 || r.Tags[0] != "media") {
			t.Errorf("added broker's row %+v: want tag media", r)
		}
	}

	var ch AdminChange
	if res, body := adminDo(t, addr, http.MethodPost, "/brokers/"+id+"/drain", "", auth, `{"timeout":"5s"}`, &ch); res.StatusCode != http.StatusOK ||
		ch.Action != "drained" {
		t.Fatalf("POST drain = %d %s, want 200 drained", res.StatusCode, body)
	}
	if !brokerDraining(tr, added.ID) {
		t.Errorf("broker %s not marked draining after the drain", added.ID)
	}
	if res, body := adminDo(t, addr, http.MethodPost, "/brokers/"+id+"/undrain", "", auth, "", &ch); res.StatusCode != http.StatusOK ||
		ch.Action != "undrained" {
		t.Fatalf("POST undrain = %d %s, want 200 undrained", res.StatusCode, body)
	}
	if brokerDraining(tr, added.ID) {
		t.Errorf("broker %s still draining after the undrain", added.ID)
	}
	if res, body := adminDo(t, addr, http.MethodDelete, "/brokers/"+id, "", auth, "", &ch); res.StatusCode != http.StatusOK || ch.Action != "removed" {
		t.Fatalf("DELETE = %d %s, want 200 removed", res.StatusCode, body)
	}
	if tr.brokerKnown(added.ID) {
		t.Errorf("broker %s still in the connections table after DELETE", added.ID)
	}
	if res, body := adminDo(t, addr, http.MethodDelete, "/brokers/"+id, "", auth, "", &e); res.StatusCode != http.StatusNotFound {
		t.Errorf("DELETE again = %d %s, want 404", res.StatusCode, body)
	}
	// With b gone, a is the zone's last broker up: its drain is refused.
	if res, body := adminDo(t, addr, http.MethodPost, "/brokers/"+url.PathEscape(a.Addr())+"/drain", "", auth, "", &e); res.StatusCode != http.StatusConflict {
		t.Errorf("drain of the zone's last broker = %d %s, want 409", res.StatusCode, body)
	}
}

func brokerDraining(tr *Tree, id string) bool {
	for _, c := range tr.Registry().Connections() {
		if c.Broker == id && c.Draining {
			return true
		}
	}
	return false
}

// A pool added and removed through the admin API of a running tree: GET
// /pools lists it while it runs, a duplicate name is 409, an unknown pool
// 404, a write without the token 401.
func TestAdminPools_AddListRemove(t *testing.T) {
	tokenDir(t)
	a := nullBroker(t, "pw-a-0123")
	tr := readyTreeOn(t, a.URL())
	s := serveAdminTest(t, tr, "127.0.0.1:0")
	addr, auth := s.addr.String(), "Bearer "+s.token
	body := `{"name":"billing","kind":"workers","broker":"` + a.Addr() + `","size":1}`

	if res, _ := adminDo(t, addr, http.MethodPost, "/pools", "", "", body, nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST /pools without the token = %d, want 401", res.StatusCode)
	}
	var added AdminChange
	res, got := adminDo(t, addr, http.MethodPost, "/pools", "", auth, body, &added)
	if res.StatusCode != http.StatusCreated || added.ID != "billing" || added.Kind != "pool" {
		t.Fatalf("POST /pools = %d %s, want 201 for pool billing", res.StatusCode, got)
	}
	if res, got := adminDo(t, addr, http.MethodPost, "/pools", "", auth, body, nil); res.StatusCode != http.StatusConflict {
		t.Fatalf("POST /pools again = %d %s, want 409", res.StatusCode, got)
	}
	var pools []PoolInfo
	if res, got := adminDo(t, addr, http.MethodGet, "/pools", "", "", "", &pools); res.StatusCode != http.StatusOK || !hasPool(pools, "billing", a.Addr()) {
		t.Fatalf("GET /pools = %d %s, want billing pinned to %s", res.StatusCode, got, a.Addr())
	}
	var removed AdminChange
	if res, got := adminDo(t, addr, http.MethodDelete, "/pools/billing", "", auth, "", &removed); res.StatusCode != http.StatusOK || removed.Action != "removed" {
		t.Fatalf("DELETE /pools/billing = %d %s, want 200 removed", res.StatusCode, got)
	}
	if res, got := adminDo(t, addr, http.MethodDelete, "/pools/billing", "", auth, "", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE /pools/billing again = %d %s, want 404", res.StatusCode, got)
	}
	if hasPool(tr.Pools(), "billing", a.Addr()) {
		t.Fatalf("pool billing still runs after DELETE: %+v", tr.Pools())
	}
}

func hasPool(pools []PoolInfo, name, broker string) bool {
	for _, p := range pools {
		if p.Name == name && p.Broker == broker && p.Kind == Workers {
			return true
		}
	}
	return false
}
