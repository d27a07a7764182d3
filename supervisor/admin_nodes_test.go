package supervisor

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/registry"
)

// GET /nodes and the observer's Nodes tab show the nodes table, and the
// tab's stream sends a node's row again when it is heard again.
func TestAdmin_NodesRouteAndTheObserversNodesTab(t *testing.T) {
	tr := adminTestTree(t)
	w, _ := adminWriters.Load(tr)
	nodes := w.(*registry.Writers).Nodes
	now := time.Now()
	kz := registry.Node{Name: "kazoo_apps@kz1", Zone: "east", Version: "4.3", Kind: registry.NodeKazoo,
		Apps: []string{"callflow"}, Heard: now, Expires: now.Add(15 * time.Second)}
	if err := nodes.PutNode(kz); err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	tr.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/nodes", nil))
	var rows []registry.Node
	if err := json.Unmarshal(rec.Body.Bytes(), &rows); rec.Code != http.StatusOK || err != nil || len(rows) != 1 ||
		rows[0].Name != kz.Name || rows[0].Kind != registry.NodeKazoo {
		t.Fatalf("GET /nodes = %d %s (%v)", rec.Code, rec.Body, err)
	}

	events := streamEvents(t, tr)
	_, up := events.next()
	if got := rowsOf[registry.Node](t, up.Tables["nodes"]); got[kz.Name].Zone != "east" {
		t.Fatalf("the observer's reset has nodes %+v, want %s", got, kz.Name)
	}
	kz.Heard = now.Add(time.Second)
	if err := nodes.PutNode(kz); err != nil {
		t.Fatal(err)
	}
	_, up = events.next()
	if got := rowsOf[registry.Node](t, up.Tables["nodes"]); len(got) != 1 || !got[kz.Name].Heard.Equal(kz.Heard) {
		t.Fatalf("update after the node was heard again = %+v", up.Tables)
	}
	page, err := uiFiles.ReadFile("ui/index.html")
	if err != nil || !strings.Contains(string(page), `data-tab="nodes"`) {
		t.Fatal("index.html has no Nodes tab")
	}
}
