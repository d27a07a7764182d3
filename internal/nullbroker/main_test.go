package nullbroker

import (
	"testing"

	"github.com/warrenmq/warren/internal/leakcheck"
)

// TestMain fails the package if any goroutine outlives the tests: every
// test closes its Server, and Close must leave nothing running.
func TestMain(m *testing.M) { leakcheck.Main(m) }
