package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// AdminAddPool is the body of POST /pools: a [PoolSpec] (Kazoo's
// add_amqp_pool). Kind is "publishers" or "workers"; at most one of Broker
// and Tag; Size 0 takes DefaultPoolSize.
type AdminAddPool struct {
	Name   string   `json:"name"`
	Kind   PoolKind `json:"kind"`
	Broker string   `json:"broker,omitempty"`
	Zone   string   `json:"zone,omitempty"`
	Tag    string   `json:"tag,omitempty"`
	Size   int      `json:"size,omitempty"`
}

// adminPoolTimeout bounds a pool's removal (its drain) inside the server's
// write timeout.
const adminPoolTimeout = adminStopListenerTimeout

// adminPools serves GET /pools: every pool of the tree, the zones' own first.
func (t *Tree) adminPools() []PoolInfo { return t.Pools() }

// adminAddPool serves POST /pools.
func (t *Tree) adminAddPool(req *http.Request) (int, any) {
	var body AdminAddPool
	if code, e := decodeBody(req, &body, false); e != nil {
		return code, *e
	}
	spec := PoolSpec(body)
	if err := spec.Validate(); err != nil {
		return adminFail(http.StatusBadRequest, err)
	}
	ctx, cancel := context.WithTimeout(req.Context(), requestTimeout)
	defer cancel()
	if err := t.AddPool(ctx, spec); err != nil {
		code := http.StatusBadRequest // an unknown broker or zone, a wrong pin
		if errors.Is(err, ErrPoolExists) {
			code = http.StatusConflict
		}
		return adminFail(code, err)
	}
	t.adminLog().Info("pool added through the admin API", "pool", spec.Name, "kind", spec.Kind)
	return http.StatusCreated, AdminChange{Action: "added", Kind: "pool", ID: spec.Name,
		Message: fmt.Sprintf("%s pool %s added (%s)", spec.Kind, spec.Name, poolPin(spec))}
}

// adminRemovePool serves DELETE /pools/{name}: the pool drains first.
func (t *Tree) adminRemovePool(req *http.Request) (int, any) {
	name := req.PathValue("name")
	ctx, cancel := context.WithTimeout(req.Context(), adminPoolTimeout)
	defer cancel()
	err := t.RemovePool(ctx, name)
	switch {
	case errors.Is(err, ErrNoPool):
		return http.StatusNotFound, AdminError{Error: fmt.Sprintf("no pool %q added at run time (GET /pools lists them)", adminClip(name, adminEchoMax))}
	case errors.Is(err, ErrDrainCut):
		return adminFail(http.StatusGatewayTimeout, err)
	case err != nil:
		return adminFail(http.StatusBadGateway, err)
	}
	t.adminLog().Info("pool removed through the admin API", "pool", name)
	return http.StatusOK, AdminChange{Action: "removed", Kind: "pool", ID: name,
		Message: fmt.Sprintf("pool %s drained and removed", name)}
}

// poolPin says in words where spec's pool takes its channels.
func poolPin(spec PoolSpec) string {
	switch {
	case spec.Broker != "":
		return "pinned to broker " + spec.Broker
	case spec.Tag != "":
		return "on a broker tagged " + spec.Tag
	case spec.Zone != "":
		return "floats of zone " + spec.Zone
	}
	return "floats of the local zone"
}
