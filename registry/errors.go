package registry

import "errors"

// ErrNotFound is returned by typed getters when no row matches.
var ErrNotFound = errors.New("warren: registry: no such row")
