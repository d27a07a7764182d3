package rabbitnode

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// Proc is the part of /proc/<pid>/stat the package needs to find and kill a node's processes.
type Proc struct {
	PID, PPID, PGrp int
	Comm            string // the executable's name, e.g. "beam.smp"
	State           byte   // R, S, D, T (stopped), t, Z (zombie), ...
}

// readProcStat reads /proc/<pid>/stat; ok is false if the process is gone.
func readProcStat(pid int) (Proc, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
	open, end := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
	if open < 0 || end < open {
		return Proc{}, false
	}
	f := strings.Fields(string(raw[end+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return Proc{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return Proc{}, false
	}
	return Proc{PID: pid, PPID: ppid, PGrp: pgrp, Comm: string(raw[open+1 : end]), State: f[0][0]}, true
}

// Procs returns every process visible in /proc (Linux; none elsewhere).
func Procs() []Proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Proc
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
	for _, s := range Procs() {
		children[s.PPID] = append(children[s.PPID], s.PID)
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

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	s, ok := readProcStat(pid)
	return ok && s.State != 'Z'
}
