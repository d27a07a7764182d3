package supervisor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// Ready reports whether a broker of the local zone is available and
// bootstrap has declared the targeted exchange.
func (t *Tree) Ready() bool {
	ok, _ := t.readyQuery(t.env.Registry.Snapshot())
	return ok
}

// WaitReady waits until [Tree.Ready] holds, the tree stops, or ctx ends.
// It gives up early, with an error wrapping [actors.ErrPermanent], when
// every broker of the local zone refused its last dial for a reason that
// retrying cannot fix soon ([actors.Permanent]: access refused, vhost not
// found, host name not resolved, certificate not trusted): a wrong
// password fails in milliseconds, not at ctx's deadline. The connections
// keep redialling meanwhile, at their maximum delay; [Tree.WaitReadyPatiently]
// waits through such errors. It also gives up, with an error wrapping
// [actors.ErrGaveUp], once the local zone's connections stopped dialling
// after their MaxAttempts (actors.Backoff) or are refused.
func (t *Tree) WaitReady(ctx context.Context) error { return t.waitReady(ctx, true) }

// WaitReadyPatiently is [Tree.WaitReady] that waits through permanent
// errors until ctx ends, for a caller that expects the broker's
// configuration (a user, a vhost, a DNS name) to be fixed meanwhile.
func (t *Tree) WaitReadyPatiently(ctx context.Context) error { return t.waitReady(ctx, false) }

func (t *Tree) waitReady(ctx context.Context, failFast bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	query := t.readyQuery
	if failFast {
		query = t.readyOrRefused
	}
	err := t.env.Registry.Wait(ctx, query)
	switch {
	case err == nil:
		return nil
	case err == actors.ErrPermanent, err == actors.ErrGaveUp:
		return fmt.Errorf("warren: not ready: %s: %w", t.notReadyCause(), err)
	}
	if e := t.Err(); e != nil {
		return e
	}
	return fmt.Errorf("warren: not ready: %s: %w", t.notReadyCause(), err)
}

// notReadyCause names why the tree is not ready: the last error of each
// broker of the local zone (connection refused, access refused…), or what
// bootstrap is waiting for.
func (t *Tree) notReadyCause() string {
	var causes []string
	for _, c := range t.env.Registry.Connections() {
		if c.Zone != t.env.LocalZone || c.Role == registry.Publish {
			continue
		}
		if c.Available { // a broker is up: bootstrap is what waits
			causes = nil
			break
		}
		why := c.LastError
		switch {
		case why == "" && c.State == registry.Connecting:
			// The first dial has had no answer yet: RabbitMQ answers a
			// refused login only after a delay, a dropped SYN never.
			why = fmt.Sprintf("connecting for %v, no answer yet", time.Since(c.Since).Round(time.Millisecond))
		case why == "":
			why = string(c.State)
		}
		causes = append(causes, c.ID+": "+redact.Text(strings.TrimPrefix(why, "warren: broker "+c.ID+": ")))
	}
	if len(causes) > 0 {
		return fmt.Sprintf("no broker of zone %q is up (%s)", t.env.LocalZone, strings.Join(causes, "; "))
	}
	detail := "not started"
	if row, ok := t.env.Registry.Actor(actors.RootName + "/" + actors.BootstrapName); ok {
		detail = row.Detail
	}
	return "bootstrap: " + redact.Text(detail)
}

func (t *Tree) readyQuery(s *registry.Snapshot) (bool, error) {
	_, up := s.Primary(t.env.LocalZone)
	boot, ok := s.Actor(actors.RootName + "/" + actors.BootstrapName)
	return up && ok && boot.Detail == actors.BootstrapReady, nil
}

// readyOrRefused is readyQuery that fails once no consuming connection of
// the local zone can come up by itself: with actors.ErrPermanent when
// every one has its last dial refused (registry.Connection.Refused), with
// actors.ErrGaveUp when some stopped dialling (MaxAttempts) and the others
// are refused.
func (t *Tree) readyOrRefused(s *registry.Snapshot) (bool, error) {
	if ok, _ := t.readyQuery(s); ok {
		return true, nil
	}
	n, gaveUp := 0, false
	for _, c := range s.ConnectionRows() {
		if c.Zone != t.env.LocalZone || c.Role == registry.Publish {
			continue
		}
		switch {
		case c.State == registry.Failed && c.NextDial.IsZero(): // no dial scheduled: it gave up
			gaveUp = true
		case !c.Refused:
			return false, nil
		}
		n++
	}
	switch {
	case n == 0:
		return false, nil
	case gaveUp:
		return false, actors.ErrGaveUp
	}
	return false, actors.ErrPermanent
}
