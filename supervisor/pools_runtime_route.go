package supervisor

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
)

// errPoolAndZone refuses a publish or a call naming both a pool and a zone.
var errPoolAndZone = errors.New("warren: a pool's zone is its own: name a pool or a zone, not both")

// publishersNamed returns the publishers pool name (a zone's own, by its
// supervisor's name, or one added at run time) and the function to call
// once the publish is done with it.
func (t *Tree) publishersNamed(name, zone string) (*publish.Pool, func(), error) {
	if zone != "" {
		return nil, nil, errPoolAndZone
	}
	if err := t.acceptPublish(); err != nil {
		return nil, nil, err
	}
	names, pools := t.pubs.all()
	if i := slices.Index(names, name); i >= 0 {
		return pools[i], func() {}, nil
	}
	if wnames, _ := t.calls.all(); slices.Contains(wnames, name) {
		return nil, nil, fmt.Errorf("warren: pool %q runs %s, not %s", name, Workers, Publishers)
	}
	rp, err := t.named.enter(name, Publishers)
	if err != nil {
		return nil, nil, err
	}
	return rp.pub, rp.gate.leave, nil
}

// workersNamed is publishersNamed for RPC workers.
func (t *Tree) workersNamed(name, zone string) (*rpc.Pool, func(), error) {
	if zone != "" {
		return nil, nil, errPoolAndZone
	}
	names, pools := t.calls.all()
	if i := slices.Index(names, name); i >= 0 {
		return pools[i], func() {}, nil
	}
	if pnames, _ := t.pubs.all(); slices.Contains(pnames, name) {
		return nil, nil, fmt.Errorf("warren: pool %q runs %s, not %s", name, Publishers, Workers)
	}
	rp, err := t.named.enter(name, Workers)
	if err != nil {
		return nil, nil, err
	}
	return rp.rpc, rp.gate.leave, nil
}

// publishVia is Tree.Publish through the pool name (publish.ViaPool).
func (t *Tree) publishVia(ctx context.Context, name, zone, exchange, routingKey string, body []byte, opts []publish.Option) error {
	p, leave, err := t.publishersNamed(name, zone)
	if err != nil {
		return &publish.Error{Exchange: exchange, RoutingKey: routingKey, Err: err}
	}
	defer leave()
	return p.Publish(ctx, exchange, routingKey, body, opts...)
}

// publishDeferredVia is Tree.PublishDeferred through the pool name. The
// gate counts the write; the pool's WaitIdle, which RemovePool waits for
// next, counts the Pending until its Wait.
func (t *Tree) publishDeferredVia(ctx context.Context, name, zone, exchange, routingKey string, body []byte, opts []publish.Option) (*publish.Pending, error) {
	p, leave, err := t.publishersNamed(name, zone)
	if err != nil {
		return nil, &publish.Error{Exchange: exchange, RoutingKey: routingKey, Err: err}
	}
	defer leave()
	return p.PublishDeferred(ctx, exchange, routingKey, body, opts...)
}

// collectVia is Tree.Call (until nil) and CallCollect through the pool
// req.Pool.
func (t *Tree) collectVia(ctx context.Context, req rpc.Request, until rpc.Until) ([]kazoo.Envelope, error) {
	w, leave, err := t.workersNamed(req.Pool, req.Zone)
	if err != nil {
		return nil, fmt.Errorf("warren: call through pool %q: %w", req.Pool, err)
	}
	defer leave()
	if until == nil {
		reply, err := w.Call(ctx, req)
		if err != nil {
			return nil, err
		}
		return []kazoo.Envelope{reply}, nil
	}
	return w.CallCollect(ctx, req, until)
}
