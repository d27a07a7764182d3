package actors

import (
	"testing"
	"time"
)

// A connection probes a refused port fast for the first seconds of an
// outage (a restart is over in about a second) and slower after that, so
// that a node down for maintenance is not knocked on 50 times a second.
func TestProbeWait_FastThenSlow(t *testing.T) {
	for _, c := range []struct {
		down     time.Duration
		min, max time.Duration
	}{
		{0, probeEvery / 2, probeEvery * 3 / 2},
		{probeFastFor - time.Millisecond, probeEvery / 2, probeEvery * 3 / 2},
		{probeFastFor, probeSlowEvery / 2, probeSlowEvery * 3 / 2},
		{time.Hour, probeSlowEvery / 2, probeSlowEvery * 3 / 2},
	} {
		var lo, hi time.Duration = time.Hour, 0
		for range 2000 {
			w := probeWait(c.down)
			lo, hi = min(lo, w), max(hi, w)
		}
		if lo < c.min || hi >= c.max {
			t.Errorf("down %v: waits in [%v, %v]; want within [%v, %v)", c.down, lo, hi, c.min, c.max)
		}
		if hi-lo < (c.max-c.min)/2 {
			t.Errorf("down %v: waits in [%v, %v]: not jittered across [%v, %v)", c.down, lo, hi, c.min, c.max)
		}
	}
}
