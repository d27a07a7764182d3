package supervisor

import (
	"context"
	"errors"
	"fmt"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/registry"
)

// rpcPool builds the RPC worker pool of cfg; nil when cfg runs none.
func rpcPool(env *actors.Env, cfg rpc.Config) (*rpc.Pool, error) {
	if cfg.Workers < 0 {
		return nil, nil
	}
	return rpc.NewPool(env, cfg)
}

// Call publishes req and returns the first reply (Kazoo's
// kz_amqp_worker:call): correlated by Msg-ID, with the worker's reply queue as
// Server-ID so that Kazoo and Kamailio peers answer on "targeted", and by
// direct reply-to for Warren peers when req.DirectReply is set. Without a
// deadline on ctx it waits rpc.DefaultCallTimeout (2s).
//
// req.Zone sends the request to another zone's brokers, through that
// zone's worker; the reply comes back the same way. req.Pool sends it
// through the workers pool of that name (one added with [Tree.AddPool], or
// a zone's own by its supervisor's name): ErrNoPool at once for an
// unknown one.
func (t *Tree) Call(ctx context.Context, req rpc.Request) (kazoo.Envelope, error) {
	if req.Pool != "" {
		replies, err := t.collectVia(ctx, req, nil)
		if err != nil {
			return nil, err
		}
		return replies[0], nil
	}
	if req.Zone == allZones {
		return nil, errors.New("warren: Call goes to one zone; use CallCollect for rpc.AllZones")
	}
	w, err := t.calls.of(req.Zone)
	if err != nil {
		return nil, err
	}
	return w.Call(ctx, req)
}

// CallCollect publishes req and gathers replies until until holds or ctx's
// deadline (kz_amqp_worker:call_collect); on the deadline it returns the
// replies gathered with rpc.ErrCallTimeout. With req.Zone = rpc.AllZones
// it asks every zone at once (Kazoo's federated call_collect): each zone
// gathers until until holds for its own replies or the deadline; the
// replies of all zones come back together, with rpc.ErrCallTimeout only
// when every zone ran out of time (or had no queue for the request),
// rpc.ErrUnroutable only when no zone had one, and other failures joined,
// each naming its zone.
func (t *Tree) CallCollect(ctx context.Context, req rpc.Request, until rpc.Until) ([]kazoo.Envelope, error) {
	if req.Pool != "" {
		if until == nil {
			until = rpc.UntilCount(1)
		}
		return t.collectVia(ctx, req, until)
	}
	if req.Zone != allZones {
		w, err := t.calls.of(req.Zone)
		if err != nil {
			return nil, err
		}
		return w.CallCollect(ctx, req, until)
	}
	return t.collectEvery(ctx, req, func(string) rpc.Until { return until })
}

// collectEvery is CallCollect in every zone at once, each zone collecting
// until untilOf(zone) holds.
func (t *Tree) collectEvery(ctx context.Context, req rpc.Request, untilOf func(zone string) rpc.Until) ([]kazoo.Envelope, error) {
	zoned, err := t.collectZones(ctx, req, untilOf)
	all := make([]kazoo.Envelope, len(zoned)) // Kazoo's {ok, []} when no zone had a node to ask
	for i, r := range zoned {
		all[i] = r.Reply
	}
	return all, err
}

// collectZones is collectEvery, each reply with its zone.
func (t *Tree) collectZones(ctx context.Context, req rpc.Request, untilOf func(zone string) rpc.Until) ([]ZoneReply, error) {
	replies := make([][]kazoo.Envelope, len(t.calls.zones)) // in the order of t.calls.zones
	errs := t.calls.each(func(i int, zone string, w *rpc.Pool) error {
		r := req
		r.Zone = zone
		var err error
		replies[i], err = w.CallCollect(ctx, r, untilOf(zone))
		return err
	})
	all := []ZoneReply{}
	timeouts, failed, unroutable := 0, []error{}, []error{}
	for i := range errs {
		for _, r := range replies[i] {
			all = append(all, ZoneReply{Zone: t.calls.zones[i], Reply: r})
		}
		switch {
		case errs[i] == nil:
		case errors.Is(errs[i], rpc.ErrCallTimeout):
			timeouts++
		case errors.Is(errs[i], rpc.ErrUnroutable): // nobody there: no failure unless nobody anywhere
			unroutable = append(unroutable, errs[i])
		default:
			failed = append(failed, errs[i])
		}
	}
	if len(failed) > 0 {
		return all, errors.Join(failed...)
	}
	if len(unroutable) == len(errs) {
		return all, errors.Join(unroutable...)
	}
	if timeouts+len(unroutable) == len(errs) {
		return all, fmt.Errorf("%w in every zone", rpc.ErrCallTimeout)
	}
	return all, nil
}

// CallCollectApp is CallCollect until one reply per node running app
// came (Kazoo's call_collect with Until = Kapp, {Kapp, IncludeFederated,
// IsShared}: kz_nodes:whapp_count), the nodes counted now in the tree's
// nodes table. With scope.AllZones the request goes to every zone
// (req.Zone = rpc.AllZones), each zone collecting its own nodes' replies;
// otherwise to req.Zone ("" the local zone), counting that zone's nodes.
// With scope.Shared each zone running app answers once. A zone where no
// node runs app is not asked (Kazoo's count of 0 returns at once). A tree
// that runs no nodes actor (NodesConfig.Disabled) counts none.
// scope.Zone is ignored: the zone asked is the one counted.
func (t *Tree) CallCollectApp(ctx context.Context, req rpc.Request, app string, scope rpc.NodeScope) ([]kazoo.Envelope, error) {
	nodes := t.env.Registry.Nodes()
	untilOf := func(zone string) rpc.Until {
		if zone == "" {
			zone = t.env.LocalZone
		}
		return rpc.UntilNodes(nodes, app, rpc.NodeScope{Zone: zone, Shared: scope.Shared})
	}
	if scope.AllZones {
		if req.Pool != "" {
			return nil, errors.New("warren: CallCollectApp: a pool (req.Pool) serves one zone, not every zone (scope.AllZones)")
		}
		req.Zone = allZones
		return t.collectEvery(ctx, req, untilOf)
	}
	if req.Zone == allZones {
		return nil, errors.New("warren: CallCollectApp: ask every zone with scope.AllZones, not req.Zone")
	}
	return t.CallCollect(ctx, req, untilOf(req.Zone))
}

// AdminWorkers is the body of GET /workers.
type AdminWorkers struct {
	Size     int                  `json:"size"`
	Busy     int64                `json:"busy"`
	Calls    uint64               `json:"calls"`
	Replies  uint64               `json:"replies"`
	Timeouts uint64               `json:"timeouts"`
	Late     uint64               `json:"late"`
	Errors   uint64               `json:"errors"`
	Workers  []registry.RPCWorker `json:"workers"`
}

func (t *Tree) adminWorkers() AdminWorkers {
	rows := t.Registry().Workers()
	out := AdminWorkers{Size: len(rows), Workers: rows}
	if out.Workers == nil {
		out.Workers = []registry.RPCWorker{}
	}
	for _, r := range rows {
		out.Busy += r.Busy
		out.Calls += r.Calls
		out.Replies += r.Replies
		out.Timeouts += r.Timeouts
		out.Late += r.Late
		out.Errors += r.Errors
	}
	return out
}

// Cast publishes req without waiting for a reply (kz_amqp_worker:cast): its
// envelope gets a Msg-ID and req.Defaults (its empty fields Config.RPC's,
// as a call's), then goes out through the publishers; pass
// publish.Confirm() to wait for the broker's confirm. req.Pool names a
// publishers pool to cast through (publish.ViaPool).
func (t *Tree) Cast(ctx context.Context, req rpc.Request, opts ...publish.Option) error {
	env := req.Envelope.Clone()
	if env == nil {
		env = kazoo.Envelope{}
	}
	if err := env.Prepare(t.rpcCfg.RequestDefaults(req.Defaults)); err != nil {
		return &rpc.CallError{MsgID: env.MsgID(), Op: "prepare cast", Err: err}
	}
	body, err := env.Marshal()
	if err != nil {
		return &rpc.CallError{MsgID: env.MsgID(), Op: "encode cast", Err: err}
	}
	opts = append([]publish.Option{publish.ContentType(kazoo.ContentType)}, opts...)
	if req.Pool != "" { // a publishers pool: a cast is a publish
		opts = append(opts, publish.ViaPool(req.Pool))
	}
	return t.Publish(ctx, req.Exchange, req.RoutingKey, body, opts...)
}
