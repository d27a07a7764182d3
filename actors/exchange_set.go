package actors

import "sync"

// ExchangeSet names the exchanges a connection declared when it connected
// (the configured ones and those recorded at run time, as the broker took
// them), less those it deleted since. A consumer given a channel of that
// connection may take them as existing without asking the broker again: a
// listener's replay skips its passive check of them before declaring an
// auto-delete queue, one round trip of five for every listener coming back
// after a restart. Auto-delete exchanges are never in it (the broker drops
// them with their last binding), nor what another client deletes: a stale
// name costs what the check is for, an auto-delete queue left unconsumed
// when its bind is refused. The nil set holds nothing.
type ExchangeSet struct {
	mu    sync.RWMutex
	names map[string]struct{}
}

// Has reports whether name is in the set.
func (s *ExchangeSet) Has(name string) bool {
	if s == nil {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.names[name]
	return ok
}

// applied notes a change its connection carried out: a declared exchange
// joins the set (unless auto-delete), a deleted one leaves it.
func (s *ExchangeSet) applied(c TopologyChange) {
	switch {
	case c.Op == TopoDeclare && !c.Exchange.AutoDelete:
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.names == nil {
			s.names = map[string]struct{}{}
		}
		s.names[c.Exchange.Name] = struct{}{}
	case c.Op == TopoDelete:
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.names, c.Exchange.Name)
	}
}
