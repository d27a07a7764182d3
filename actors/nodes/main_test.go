package nodes_test

import (
	"testing"

	"github.com/warrenmq/warren/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
