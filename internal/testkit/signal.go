package testkit

import "sync"

// Signal is a change signal: Changed returns a channel that Notify closes,
// then a new one for the next change. A test's own goroutines Notify where
// they change what the test waits on, and the test waits with Await. The
// zero value is ready to use; it is safe for concurrent use by multiple
// goroutines.
type Signal struct {
	mu sync.Mutex    // guards ch
	ch chan struct{} // made by Changed, closed and cleared by Notify
}

// Changed returns the channel the next Notify closes.
func (s *Signal) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Notify wakes everyone waiting on Changed.
func (s *Signal) Notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// Counter is a count that a test's goroutines add to and the test waits on
// (Await with its Changed). It is safe for concurrent use by multiple
// goroutines.
type Counter struct {
	Signal
	mu sync.Mutex // guards n
	n  int64
}

// Add adds d and signals the change.
func (c *Counter) Add(d int64) {
	c.mu.Lock()
	c.n += d
	c.mu.Unlock()
	c.Notify()
}

// Load returns the count.
func (c *Counter) Load() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
