package rpc

import (
	"strings"
	"testing"

	"github.com/warrenmq/warren/actors/kazoo"
)

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		given   Config
		wantErr string
	}{
		{name: "zero takes the defaults", given: Config{}},
		{name: "negative workers: none", given: Config{Workers: -1}},
		{name: "node and defaults", given: Config{Node: "kazoo_apps@host", Defaults: kazoo.Defaults{AppName: "a", AppVersion: "1"}}},
		{name: "a node too long for a queue name", given: Config{Node: strings.Repeat("n", maxNodeLen+1)}, wantErr: "node: 129 bytes, at most 128"},
		{name: "a negative threshold", given: Config{NegativeThreshold: 5}},
		{name: "a threshold below zero", given: Config{NegativeThreshold: -1}, wantErr: "pool_threshold: -1"},
		{name: "a Server-ID default", given: Config{Defaults: kazoo.Defaults{ServerID: "q"}}, wantErr: "defaults: Server-ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.given.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate() = %v, want it to start with %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfig_RequestDefaults(t *testing.T) {
	cfg := Config{Node: "warren@a", Defaults: kazoo.Defaults{AppName: "svc", AppVersion: "2"}}
	tests := []struct {
		name  string
		cfg   Config
		given kazoo.Defaults
		want  kazoo.Defaults
	}{
		{name: "a request without defaults takes the pool's, Node from Config.Node", cfg: cfg,
			want: kazoo.Defaults{AppName: "svc", AppVersion: "2", Node: "warren@a"}},
		{name: "a request's own fields win", cfg: cfg, given: kazoo.Defaults{AppName: "mine", Node: "n@b", ServerID: "q"},
			want: kazoo.Defaults{AppName: "mine", AppVersion: "2", Node: "n@b", ServerID: "q"}},
		{name: "Defaults.Node wins over Config.Node", cfg: Config{Node: "warren@a", Defaults: kazoo.Defaults{Node: "kazoo@a"}},
			want: kazoo.Defaults{Node: "kazoo@a"}},
		{name: "no node configured: no Node header", cfg: Config{}, given: kazoo.Defaults{AppName: "x"},
			want: kazoo.Defaults{AppName: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.RequestDefaults(tt.given); got != tt.want {
				t.Fatalf("RequestDefaults(%+v) = %+v, want %+v", tt.given, got, tt.want)
			}
		})
	}
}
