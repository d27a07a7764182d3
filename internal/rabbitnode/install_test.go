package rabbitnode

import (
	"errors"
	"strings"
	"testing"
)

func TestLocateRabbitMQ_FailsWithTheFixWhenRabbitMQIsMissing(t *testing.T) {
	_, err := locateRabbitMQ(t.TempDir())
	if !errors.Is(err, ErrNoRabbitMQ) || !strings.Contains(err.Error(), ".ci/install-deps") {
		t.Fatalf("err = %v, want ErrNoRabbitMQ naming .ci/install-deps", err)
	}
}
