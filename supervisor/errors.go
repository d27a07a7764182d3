package supervisor

import "errors"

var (
	// ErrNoPool is returned at once by a publish (publish.ViaPool), a call
	// (rpc.Request.Pool) and Tree.RemovePool naming a pool the tree does
	// not run; the error names the pools it runs.
	ErrNoPool = errors.New("warren: no such pool")
	// ErrPoolRemoved is returned at once by a publish or a call through a
	// pool that Tree.RemovePool is removing: those in flight finish, no
	// new one starts.
	ErrPoolRemoved = errors.New("warren: pool removed")
	// ErrPoolExists is returned by Tree.AddPool for a name the tree uses
	// already (a pool, or another child of the root).
	ErrPoolExists = errors.New("warren: pool exists")
)
