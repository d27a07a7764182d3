package actors

import (
	"fmt"

	"github.com/warrenmq/warren/actors/kazoo"
)

// Exchange is an exchange a connection declares on connect.
type Exchange = kazoo.Exchange

// BrokerSpec is one broker connection the tree keeps up.
type BrokerSpec struct {
	ID          string            // broker id; derived from the URI when empty
	Zone        string            // zone name; defaults to the local zone
	Options     ConnectionOptions // URL and every connection setting
	Exchanges   []Exchange        // declared on every connect; nil means Kazoo's standard set
	Prechannels int               // channels opened ahead of demand; 0 means DefaultPrechannels, negative none
}

// Normalize validates the spec, derives its ID and fills defaults.
// Errors name the broker by its redacted URI.
func (s BrokerSpec) Normalize(localZone string) (BrokerSpec, error) {
	plan, err := s.Options.plan()
	if err != nil {
		return s, err
	}
	if s.ID == "" {
		if s.ID, err = BrokerID(plan.uri); err != nil {
			return s, err
		}
	}
	if s.Zone == "" {
		s.Zone = localZone
	}
	if s.Exchanges == nil {
		s.Exchanges = kazoo.StandardExchanges()
	}
	for _, x := range s.Exchanges {
		if x.Name == "" || x.Kind == "" {
			return s, fmt.Errorf("warren: broker %s: exchange %q: name and kind are required", s.ID, x.Name)
		}
	}
	switch {
	case s.Prechannels == 0:
		s.Prechannels = DefaultPrechannels
	case s.Prechannels < 0:
		s.Prechannels = -1 // none; kept negative so that Normalize is idempotent
	}
	return s, nil
}

// URI returns the spec's URI with its password masked.
func (s BrokerSpec) URI() BrokerURI {
	uri, err := s.Options.uri()
	if err != nil {
		return "<invalid>"
	}
	return BrokerURI(uri)
}
