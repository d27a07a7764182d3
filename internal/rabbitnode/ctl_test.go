package rabbitnode

import (
	"context"
	"strings"
	"testing"
)

func TestCtl_RefusesTheSystemNodeAndANamelessOne(t *testing.T) {
	// The refusal comes before any process starts: a ctl that fails would not tell.
	inst := rabbitInstall{server: "/nonexistent/rabbitmq-server", ctl: "/nonexistent/rabbitmqctl"}
	for _, name := range []string{SystemNode, ""} {
		n := &Node{Name: name, Dir: t.TempDir(), install: inst}
		if _, err := n.Ctl(context.Background(), "status"); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("Ctl on %q: err = %v, want a refusal", name, err)
		}
		if _, err := n.Upgrade(context.Background(), "drain"); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("Upgrade on %q: err = %v, want a refusal", name, err)
		}
	}
}

func TestRedactCtlArgs_MasksPasswords(t *testing.T) {
	tests := []struct {
		name  string
		given []string
		want  string
	}{
		{"add_user", []string{"add_user", "kazoo", "s3cret"}, "add_user kazoo xxxxx"},
		{"change_password", []string{"change_password", "kazoo", "s3cret"}, "change_password kazoo xxxxx"},
		{"an upstream's URI", []string{"set_parameter", "federation-upstream", "up", `{"uri":"amqp://kazoo:s3cret@10.0.0.5:5672/%2F"}`},
			`set_parameter federation-upstream up {"uri":"amqp://kazoo:xxxxx@10.0.0.5:5672/%2F"}`},
		{"other commands as they are", []string{"list_queues", "name"}, "list_queues name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactCtlArgs(tt.given); got != tt.want {
				t.Fatalf("redactCtlArgs(%q) = %q, want %q", tt.given, got, tt.want)
			}
		})
	}
}
