package supervisor

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/warrenmq/warren/actors"
)

// Metrics: most of what Warren exports is read from its tables at scrape
// time (each actor keeps counters in its row already), so the hot paths
// pay nothing for it; only the confirm wait and the calls are timed, through
// actors.Observer. No label carries a URI: brokers are named by their id
// (host:port[@vhost]), never with credentials.

// treeMetrics is the tree's prometheus.Collector.
type treeMetrics struct {
	t *Tree

	confirmWait  *prometheus.HistogramVec // outcome
	confirmsBusy prometheus.GaugeFunc     // reads busy
	busy         atomic.Int64             // confirms in flight: an integer add is cheaper than a Gauge's float CAS loop
	// byOutcome are confirmWait's observers, resolved once: WithLabelValues
	// hashes and locks on every call.
	byOutcome map[string]prometheus.Observer
	acked     prometheus.Observer      // byOutcome["acked"], what almost every confirm is: no map lookup (a string hash)
	calls     *prometheus.HistogramVec // zone, outcome
	// The longest confirm wait and call, exact: the observer's "max", and
	// the bound of its p50 and p99.
	confirmMax, callMax maxDuration

	ready, degraded                                     *prometheus.Desc
	connUp, connState, connects, attempts, connChannels *prometheus.Desc
	channels                                            *prometheus.Desc
	publishes, publishWaiting                           *prometheus.Desc
	deliveries, listenerInFlight, listenerState         *prometheus.Desc
	rpcCalls, rpcBusy                                   *prometheus.Desc
	restarts                                            *prometheus.Desc
	nodes                                               *prometheus.Desc
}

func newTreeMetrics(t *Tree) *treeMetrics {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("warren_"+name, help, labels, nil)
	}
	m := &treeMetrics{t: t,
		confirmWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "warren_publish_confirm_seconds",
			Help:    "Time from a confirmed publish's write to the broker's answer, by outcome (acked, nacked, returned, unconfirmed).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12)}, []string{"outcome"}),
		calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "warren_rpc_call_seconds",
			Help:    "Duration of Call and CallCollect, by zone (the local one is \"local\") and outcome (ok, timeout, error).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14)}, []string{"zone", "outcome"}),
		ready:            d("ready", "1 when a broker of the local zone is connected and bootstrap is done."),
		degraded:         d("degraded", "1 while consumers wait for a channel because their broker's channel_max is used up (Tree.Degraded)."),
		connUp:           d("connection_up", "1 while the connection is usable (connected or blocked).", "broker", "role", "zone"),
		connState:        d("connection_state", "1 for the connection's current state.", "broker", "role", "zone", "state"),
		connects:         d("connection_connects_total", "Successful connects since the connection actor started (reconnects are this minus one).", "broker", "role", "zone"),
		attempts:         d("connection_dial_attempts", "Dial attempts since the last successful connect.", "broker", "role", "zone"),
		connChannels:     d("connection_channels", "AMQP channels open on the connection, control channel included.", "broker", "role", "zone"),
		channels:         d("channels", "Channels in the assignments table, by broker connection, type and state.", "broker", "type", "state"),
		publishes:        d("publishes_total", "Publishes through the publishers, by publisher, zone and outcome.", "publisher", "zone", "outcome"),
		publishWaiting:   d("publish_waiting", "Publishes waiting for a usable channel.", "publisher", "zone"),
		deliveries:       d("listener_deliveries_total", "Deliveries of a listener, by outcome.", "listener", "zone", "outcome"),
		listenerInFlight: d("listener_in_flight", "Deliveries of a listener being handled.", "listener", "zone"),
		listenerState:    d("listener_state", "1 for the listener's current state.", "listener", "zone", "state"),
		rpcCalls:         d("rpc_worker_calls_total", "Calls of an RPC worker, by outcome (calls, replies, timeouts, late, errors).", "worker", "outcome"),
		rpcBusy:          d("rpc_worker_busy", "Calls in progress on an RPC worker.", "worker"),
		restarts:         d("actor_restarts_total", "Restarts of an actor by its supervisor.", "actor", "kind"),
		nodes:            d("nodes", "Nodes of the installation heard on the nodes exchange (this one included while it advertises), by zone.", "zone"),
	}
	m.confirmsBusy = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "warren_publish_confirms_in_flight",
		Help: "Confirmed publishes waiting for the broker's confirm."}, func() float64 { return float64(m.busy.Load()) })
	m.byOutcome = map[string]prometheus.Observer{}
	for _, outcome := range []string{"acked", "nacked", "returned", "unconfirmed"} {
		m.byOutcome[outcome] = m.confirmWait.WithLabelValues(outcome)
	}
	m.acked = m.byOutcome["acked"]
	return m
}

// observer feeds the histograms from the hot paths.
func (m *treeMetrics) observer() *actors.Observer {
	local := m.t.env.LocalZone
	return &actors.Observer{
		ConfirmWait: func(delta int, took time.Duration, outcome string) {
			m.busy.Add(int64(delta))
			if delta >= 0 {
				return
			}
			o := m.acked
			if outcome != "acked" {
				var ok bool
				if o, ok = m.byOutcome[outcome]; !ok {
					o = m.confirmWait.WithLabelValues(outcome)
				}
			}
			o.Observe(took.Seconds())
			m.confirmMax.observe(took)
		},
		Call: func(zone string, took time.Duration, outcome string) {
			if zone == "" {
				zone = local
			}
			m.calls.WithLabelValues(zone, outcome).Observe(took.Seconds())
			m.callMax.observe(took)
		},
	}
}

func (m *treeMetrics) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(m, ch) }

func (m *treeMetrics) Collect(ch chan<- prometheus.Metric) {
	m.confirmWait.Collect(ch)
	m.confirmsBusy.Collect(ch)
	m.calls.Collect(ch)
	g := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	c := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, labels...)
	}
	reg := m.t.Registry()
	g(m.ready, boolf(m.t.Ready()))
	g(m.degraded, boolf(m.t.Degraded() != ""))
	for _, x := range reg.Connections() {
		l := []string{x.Broker, string(x.Role), x.Zone}
		g(m.connUp, boolf(x.Available), l...)
		g(m.connState, 1, append(l, string(x.State))...)
		c(m.connects, float64(x.Connects), l...)
		g(m.attempts, float64(x.Attempts), l...)
		g(m.connChannels, float64(x.Channels), l...)
	}
	type chKey struct{ broker, typ, state string }
	chans := map[chKey]int{}
	for _, a := range reg.Assignments() {
		chans[chKey{a.Broker, string(a.Type), string(a.State)}]++
	}
	for k, n := range chans {
		g(m.channels, float64(n), k.broker, k.typ, k.state)
	}
	for _, p := range reg.Publishers() {
		name := lastElem(p.ID)
		for outcome, v := range map[string]uint64{"published": p.Published, "confirmed": p.Confirmed, "nacked": p.Nacked,
			"returned": p.Returned, "unconfirmed": p.Unconfirmed, "resent": p.Resent, "dropped": p.Dropped} {
			c(m.publishes, float64(v), name, p.Zone, outcome)
		}
		g(m.publishWaiting, float64(p.Buffered), name, p.Zone)
	}
	for _, l := range reg.Listeners() {
		for outcome, v := range map[string]uint64{"received": l.Received, "acked": l.Acked, "nacked": l.Nacked, "rejected": l.Rejected,
			"unhandled": l.Unhandled, "errors": l.Errors, "stale": l.Stale, "retried": l.Retried, "dead_lettered": l.DeadLettered,
			"requeued": l.Requeued, "duplicates": l.Duplicates} {
			c(m.deliveries, float64(v), l.Name, l.Zone, outcome)
		}
		g(m.listenerInFlight, float64(l.InFlight), l.Name, l.Zone)
		g(m.listenerState, 1, l.Name, l.Zone, string(l.State))
	}
	for _, w := range reg.Workers() {
		name := lastElem(w.Path)
		for outcome, v := range map[string]uint64{"calls": w.Calls, "replies": w.Replies, "timeouts": w.Timeouts, "late": w.Late, "errors": w.Errors} {
			c(m.rpcCalls, float64(v), name, outcome)
		}
		g(m.rpcBusy, float64(w.Busy), name)
	}
	for _, a := range reg.Actors() {
		c(m.restarts, float64(a.Restarts), a.Path, string(a.Kind))
	}
	byZone := map[string]int{}
	for _, n := range reg.Nodes() {
		byZone[n.Zone]++
	}
	for z, n := range byZone {
		g(m.nodes, float64(n), z)
	}
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func lastElem(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[i+1:]
		}
	}
	return path
}

// Collector returns the tree's Prometheus collector, for a service that
// serves its own /metrics: register it in that registry. ServeAdmin's
// /metrics serves it with the Go runtime's and the process's collectors.
func (t *Tree) Collector() prometheus.Collector {
	if t.metrics == nil { // a Tree made without Start
		t.metrics = newTreeMetrics(t)
	}
	return t.metrics
}

// metricsHandler serves GET /metrics in Prometheus's text format.
func (t *Tree) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(t.Collector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
