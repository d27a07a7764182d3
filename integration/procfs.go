package integration

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// procStat is the part of /proc/<pid>/stat the harness needs.
type procStat struct {
	pid, ppid, pgrp int
	comm            string
	state           byte // R, S, D, T (stopped), t, Z (zombie), ...
}

// readProcStat reads /proc/<pid>/stat; ok is false if the process is gone.
func readProcStat(pid int) (procStat, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
	open, end := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	f := strings.Fields(string(raw[end+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return procStat{}, false
	}
	return procStat{pid: pid, ppid: ppid, pgrp: pgrp, comm: string(raw[open+1 : end]), state: f[0][0]}, true
}

// listProcs returns every process visible in /proc.
func listProcs() []procStat {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procStat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, ok := readProcStat(pid); ok {
			out = append(out, s)
		}
	}
	return out
}

// descendants returns the pids of all live descendants of root.
func descendants(root int) []int {
	children := map[int][]int{}
	for _, s := range listProcs() {
		children[s.ppid] = append(children[s.ppid], s.pid)
	}
	var out []int
	todo := []int{root}
	for len(todo) > 0 {
		pid := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, c := range children[pid] {
			out = append(out, c)
			todo = append(todo, c)
		}
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	s, ok := readProcStat(pid)
	return ok && s.state != 'Z'
}
