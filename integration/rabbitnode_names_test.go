package integration

import "github.com/warrenmq/warren/internal/rabbitnode"

// The harness's tests name a few helpers of the node-starting code, which lives in
// internal/rabbitnode; these names keep those tests as they were.
var (
	freePort     = rabbitnode.FreePort
	reservedPort = rabbitnode.ReservedPort
	alive        = rabbitnode.Alive
	tail         = rabbitnode.Tail
)

// procStat is the part of a process's /proc/<pid>/stat the harness's tests read.
type procStat struct {
	pid   int
	state byte // R, S, D, T (stopped), t, Z (zombie), ...
}

// listProcs returns every process visible in /proc.
func listProcs() []procStat {
	var out []procStat
	for _, p := range rabbitnode.Procs() {
		out = append(out, procStat{pid: p.PID, state: p.State})
	}
	return out
}
