package integration

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// ProcessTB is the part of testing.TB the harness uses, for the examples'
// shared broker, which no test owns (TestMain closes it). A failure panics
// (recover it to report it); Cleanup collects functions that Close runs,
// last first, before removing the TempDir directories. It lives in a test
// file: code outside tests starts nodes with internal/rabbitnode instead.
type ProcessTB struct {
	testing.TB
	name     string
	logf     func(string, ...any)
	mu       sync.Mutex
	cleanups []func()
	dirs     []string
}

// NewProcessTB returns a ProcessTB named name whose Logf and Errorf go to
// logf (nil: Errorf to stderr, Logf nowhere).
func NewProcessTB(name string, logf func(string, ...any)) *ProcessTB {
	return &ProcessTB{name: name, logf: logf}
}

func (p *ProcessTB) Helper()      {}
func (p *ProcessTB) Failed() bool { return false }
func (p *ProcessTB) Name() string { return p.name }

func (p *ProcessTB) Logf(f string, a ...any) {
	if p.logf != nil {
		p.logf(f, a...)
	}
}

func (p *ProcessTB) Errorf(f string, a ...any) {
	if p.logf != nil {
		p.logf(f, a...)
		return
	}
	fmt.Fprintf(os.Stderr, f+"\n", a...)
}

func (p *ProcessTB) Fatal(a ...any)            { panic(fmt.Sprint(a...)) }
func (p *ProcessTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

func (p *ProcessTB) Cleanup(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleanups = append(p.cleanups, f)
}

func (p *ProcessTB) TempDir() string {
	d, err := os.MkdirTemp("", p.name+"-")
	if err != nil {
		panic(err)
	}
	p.mu.Lock()
	p.dirs = append(p.dirs, d)
	p.mu.Unlock()
	return d
}

// Close runs the cleanups, last first, and removes the directories.
func (p *ProcessTB) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	p.cleanups = nil
	for _, d := range p.dirs {
		_ = os.RemoveAll(d)
	}
	p.dirs = nil
}
