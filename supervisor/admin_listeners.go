package supervisor

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// AdminListener is one element of GET /listeners.
type AdminListener struct {
	Name         string                 `json:"name"`
	Path         string                 `json:"path"`
	Queue        string                 `json:"queue"`
	Bindings     []string               `json:"bindings"` // "exchange/routing-key"
	Broker       string                 `json:"broker"`
	Zone         string                 `json:"zone"`
	Parent       string                 `json:"parent,omitempty"` // a federator's listener
	State        registry.ListenerState `json:"state"`
	ConsumerTag  string                 `json:"consumer_tag"`
	Received     uint64                 `json:"received"`
	Acked        uint64                 `json:"acked"`
	Nacked       uint64                 `json:"nacked"`
	Rejected     uint64                 `json:"rejected"`
	Unhandled    uint64                 `json:"unhandled"`
	Errors       uint64                 `json:"errors"`
	Stale        uint64                 `json:"stale"`
	InFlight     int64                  `json:"in_flight"`
	Retried      uint64                 `json:"retried"`
	DeadLettered uint64                 `json:"dead_lettered"`
	Requeued     uint64                 `json:"requeued"`
	Duplicates   uint64                 `json:"duplicates"`
	LastError    string                 `json:"last_error"`
}

func adminListeners(reg *registry.Registry) []AdminListener {
	out := []AdminListener{}
	for _, l := range reg.Listeners() {
		out = append(out, adminListener(l))
	}
	return out
}

// adminListener is one row of GET /listeners, its error text redacted.
func adminListener(l registry.Listener) AdminListener {
	b := l.Bindings
	if b == nil {
		b = []string{}
	}
	return AdminListener{Name: l.Name, Path: l.Path, Queue: l.Queue, Bindings: b, Broker: l.Broker, Zone: l.Zone, Parent: l.Parent,
		State: l.State, ConsumerTag: l.ConsumerTag, Received: l.Received, Acked: l.Acked, Nacked: l.Nacked,
		Rejected: l.Rejected, Unhandled: l.Unhandled, Errors: l.Errors, Stale: l.Stale, InFlight: l.InFlight,
		Retried: l.Retried, DeadLettered: l.DeadLettered, Requeued: l.Requeued, Duplicates: l.Duplicates, LastError: redact.Text(l.LastError)}
}

// adminStopListenerTimeout bounds POST /listeners/{name}/stop: the drain
// of the listener and its stop.
const adminStopListenerTimeout = AdminWriteTimeout - 5*time.Second

// adminStopListener serves POST /listeners/{name}/stop: the listener is
// drained (its handlers finish) and stopped, its federators with it.
func (t *Tree) adminStopListener(req *http.Request) (int, any) {
	name := req.PathValue("name")
	found := false
	for _, l := range t.Registry().Listeners() {
		found = found || (l.Name == name && l.Parent == "")
	}
	if !found {
		return http.StatusNotFound, AdminError{Error: fmt.Sprintf("no listener %q (GET /listeners lists them)", adminClip(name, adminEchoMax))}
	}
	ctx, cancel := context.WithTimeout(req.Context(), adminStopListenerTimeout)
	defer cancel()
	if err := t.StopListener(ctx, name); err != nil {
		return adminFail(http.StatusBadGateway, err)
	}
	t.adminLog().Info("listener stopped through the admin API", "listener", name)
	return http.StatusOK, AdminChange{Action: "stopped", Kind: "listener", ID: name,
		Message: "listener " + name + " drained and stopped"}
}
