package supervisor

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/warrenmq/warren/registry"
)

// A listener's failure counters reach GET /listeners (snake_case) and the
// deliveries metric's outcomes.
func TestAdmin_ListenersShowTheFailureCounters(t *testing.T) {
	tr := adminTestTree(t)
	adminWrite(t, tr, func(w adminTx) error {
		return w.PutListener(registry.Listener{Path: "warren/listeners/orders", Name: "orders", Zone: "local", State: registry.ListenerConsuming,
			Received: 9, Retried: 4, DeadLettered: 3, Requeued: 2, Duplicates: 1})
	})
	var rows []map[string]any
	code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/listeners", &rows)
	if code != http.StatusOK || len(rows) != 1 {
		t.Fatalf("GET /listeners = %d %s", code, body)
	}
	for field, want := range map[string]float64{"retried": 4, "dead_lettered": 3, "requeued": 2, "duplicates": 1} {
		if rows[0][field] != want {
			t.Errorf("%s = %v, want %v: %s", field, rows[0][field], want, body)
		}
	}
	rec := httptest.NewRecorder()
	tr.metricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range []string{
		`warren_listener_deliveries_total{listener="orders",outcome="retried",zone="local"} 4`,
		`warren_listener_deliveries_total{listener="orders",outcome="dead_lettered",zone="local"} 3`,
		`warren_listener_deliveries_total{listener="orders",outcome="requeued",zone="local"} 2`,
		`warren_listener_deliveries_total{listener="orders",outcome="duplicates",zone="local"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}
