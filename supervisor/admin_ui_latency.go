package supervisor

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// UILatency summarises the waits of one kind (confirms, calls) for the
// observer, from the histograms /metrics serves: since the tree started.
type UILatency struct {
	InFlight int64             `json:"in_flight"` // waiting now
	Count    uint64            `json:"count"`     // waits ended
	Outcomes map[string]uint64 `json:"outcomes"`  // ended waits by outcome (acked, nacked…; ok, timeout, error)
	MeanMs   float64           `json:"mean_ms"`   //
	P50Ms    float64           `json:"p50_ms"`    // estimated from the histogram's buckets
	P99Ms    float64           `json:"p99_ms"`    // estimated from the histogram's buckets, never above MaxMs
	MaxMs    float64           `json:"max_ms"`    // the slowest, exact
}

// maxDuration keeps the longest duration observed, for the observer's
// "slowest": a histogram's buckets cannot tell it, and their estimate of
// a quantile may pass it (a p99 of 272 ms in a bucket up to 381 ms when no
// call took more than 166 ms). Safe for concurrent use; an observation
// costs an atomic load unless it is a new maximum.
type maxDuration struct{ ns atomic.Int64 }

func (m *maxDuration) observe(d time.Duration) {
	for {
		cur := m.ns.Load()
		if int64(d) <= cur || m.ns.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

// seconds is the longest duration observed, in seconds (0 before any).
func (m *maxDuration) seconds() float64 { return time.Duration(m.ns.Load()).Seconds() }

// uiLatency reads the confirm and call histograms; callsInFlight is the
// workers' busy count (the calls have no gauge of their own).
func (m *treeMetrics) uiLatency(callsInFlight int64) (confirms, calls UILatency) {
	confirms = summarise(m.confirmWait, m.confirmMax.seconds())
	var g dto.Metric
	if m.confirmsBusy.Write(&g) == nil && g.Gauge != nil {
		confirms.InFlight = int64(g.Gauge.GetValue())
	}
	calls = summarise(m.calls, m.callMax.seconds())
	calls.InFlight = callsInFlight
	return confirms, calls
}

// summarise adds up every series of a histogram vector with an "outcome"
// label; slowest is the longest wait observed, in seconds, which bounds the
// quantiles the buckets estimate.
func summarise(vec prometheus.Collector, slowest float64) UILatency {
	ch := make(chan prometheus.Metric, 16)
	go func() { // Collect sends synchronously; drained below, so this ends
		vec.Collect(ch)
		close(ch)
	}()
	out := UILatency{Outcomes: map[string]uint64{}}
	var sum float64
	cum := map[float64]uint64{} // upper bound -> cumulative count, all series
	for metric := range ch {
		var d dto.Metric
		if metric.Write(&d) != nil || d.Histogram == nil {
			continue
		}
		h := d.Histogram
		out.Count += h.GetSampleCount()
		sum += h.GetSampleSum()
		for _, l := range d.Label {
			if l.GetName() == "outcome" {
				out.Outcomes[l.GetValue()] += h.GetSampleCount()
			}
		}
		for _, b := range h.Bucket {
			cum[b.GetUpperBound()] += b.GetCumulativeCount()
		}
	}
	if out.Count == 0 {
		return out
	}
	out.MeanMs = sum / float64(out.Count) * 1000
	out.MaxMs = slowest * 1000
	out.P50Ms = min(quantile(cum, out.Count, 0.50), slowest) * 1000
	out.P99Ms = min(quantile(cum, out.Count, 0.99), slowest) * 1000
	return out
}

// quantile estimates the q-quantile of count observations from cumulative
// bucket counts, interpolating linearly inside the bucket (as Prometheus's
// histogram_quantile does); past the last bound it answers that bound.
func quantile(cum map[float64]uint64, count uint64, q float64) float64 {
	bounds := make([]float64, 0, len(cum))
	for b := range cum {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	rank := q * float64(count)
	lower, below := 0.0, uint64(0)
	for _, b := range bounds {
		n := cum[b]
		if float64(n) >= rank {
			if n == below {
				return b
			}
			return lower + (b-lower)*(rank-float64(below))/float64(n-below)
		}
		lower, below = b, n
	}
	return lower
}
