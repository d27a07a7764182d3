package registry

import "errors"

// ErrNotFound is returned by typed getters when no row matches.
var ErrNotFound = errors.New("warren: registry: no such row")

// errNoWriter is returned by a zero writer (one not made by New): a bug of
// whoever handed it over.
var errNoWriter = errors.New("warren: registry: write through a zero writer (not handed over by the tree)")
