package nodes

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// extraFields are the counters of kz_nodes' status that a row keeps as
// advertised, when they are numbers.
var extraFields = []string{"Channels", "Conferences", "Registrations", "Ports"}

// nodeOf reads an advertisement heard at into a row of the nodes table,
// as kz_nodes:from_json does: Expires × FudgeFactor, Version else
// App-Version, Zone else AMQP-Broker-Zone else localZone, WhApps as an
// object (or Kazoo's older list of names). It fails on what kapi_nodes'
// advertise_v refuses.
func nodeOf(e kazoo.Envelope, at time.Time, localZone string) (registry.Node, error) {
	if err := Advertise.Validate(e); err != nil {
		return registry.Node{}, err
	}
	name := str(e, kazoo.HeaderNode)
	if name == "" {
		return registry.Node{}, errors.New("advertise without a Node")
	}
	expires, ok := number(e["Expires"])
	if !ok || expires <= 0 {
		return registry.Node{}, fmt.Errorf("node %s: Expires %v is not a positive number of ms", redact.Clip(name, 128), e["Expires"])
	}
	row := registry.Node{
		Name:    redact.Clip(name, 255),
		Zone:    firstString(e, localZone, "Zone", "AMQP-Broker-Zone"),
		Version: firstString(e, "unknown", "Version", kazoo.HeaderAppVersion),
		Kind:    registry.NodeKazoo,
		Apps:    appNames(e["WhApps"]),
		Broker:  redact.Text(str(e, "AMQP-Broker")),
		Heard:   at,
		Expires: at.Add(time.Duration(expires * FudgeFactor * float64(time.Millisecond))),
	}
	if str(e, kazoo.HeaderAppName) == AppName {
		row.Kind = registry.NodeWarren
	}
	if n, ok := number(e["Used-Memory"]); ok {
		row.Memory = int64(n)
	}
	if n, ok := number(e["Processes"]); ok {
		row.Processes = int64(n)
	}
	for _, k := range extraFields {
		if n, ok := number(e[k]); ok {
			if row.Extra == nil {
				row.Extra = map[string]any{}
			}
			row.Extra[k] = n
		}
	}
	return row, nil
}

// number reads a JSON number (float64, json.Number or an integer type).
func number(v any) (float64, bool) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	case json.Number:
		x, err := n.Float64()
		if err != nil {
			return 0, false
		}
		f = x
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func firstString(e kazoo.Envelope, def string, keys ...string) string {
	for _, k := range keys {
		if s := str(e, k); s != "" {
			return redact.Clip(s, 255)
		}
	}
	return def
}

// appNames reads WhApps: an object keyed by app (kz_nodes' kapps_to_json)
// or a list of names (kapps_from_json accepts both).
func appNames(v any) []string {
	var apps []string
	switch w := v.(type) {
	case map[string]any:
		for k := range w {
			apps = append(apps, redact.Clip(k, 128))
		}
	case []any:
		for _, a := range w {
			if s, ok := a.(string); ok {
				apps = append(apps, redact.Clip(s, 128))
			}
		}
	}
	sort.Strings(apps)
	return apps
}

// str returns the value of key when it is a JSON string.
func str(e kazoo.Envelope, key string) string {
	s, _ := e[key].(string)
	return s
}
