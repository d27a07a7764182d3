package supervisor

import (
	"context"
	"errors"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/rpc"
)

// ZoneReply is one reply of [Tree.CallCollectZones] with the zone whose
// brokers carried the request and its reply.
type ZoneReply struct {
	Zone  string
	Reply kazoo.Envelope
}

// CallCollectZones is [Tree.CallCollect] with req.Zone = rpc.AllZones (the
// req.Zone given is ignored), each reply with its zone: the replies of
// the local zone first, then of the other zones in the configuration's
// order, each zone's in the order they came. Kazoo's federated
// call_collect returns the replies alone; `warren call --all-zones` says
// where each came from. A req.Pool serves one zone: use CallCollect.
func (t *Tree) CallCollectZones(ctx context.Context, req rpc.Request, until rpc.Until) ([]ZoneReply, error) {
	if req.Pool != "" {
		return nil, errors.New("warren: CallCollectZones: a pool (req.Pool) serves one zone, not every zone")
	}
	req.Zone = allZones
	return t.collectZones(ctx, req, func(string) rpc.Until { return until })
}
