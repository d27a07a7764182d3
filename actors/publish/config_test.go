package publish

import (
	"testing"
	"time"
)

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		given   Config
		wantErr string
	}{
		{name: "zero takes the defaults", given: Config{}},
		{name: "sizes", given: Config{Publishers: 4, Buffer: 10, MaxWait: time.Second, ConfirmTimeout: time.Second}},
		{name: "negative publishers: none", given: Config{Publishers: -1}},
		{name: "negative buffer", given: Config{Buffer: -1}, wantErr: "buffer: must not be negative"},
		{name: "negative max wait", given: Config{MaxWait: -time.Second}, wantErr: "max_wait: must not be negative"},
		{name: "negative confirm timeout", given: Config{ConfirmTimeout: -time.Second}, wantErr: "confirm_timeout: must not be negative"},
		{name: "negative max message size", given: Config{MaxMessageSize: -1}, wantErr: "max_message_size: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.given.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// NewPool validates with Config.Validate and refuses a pool of no
// publishers, which only a tree can run (it runs none).
func TestNewPool_RefusesWhatValidateRefusesAndNoPublishers(t *testing.T) {
	for _, cfg := range []Config{{MaxWait: -1}, {Publishers: -1}} {
		if p, err := NewPool(cfg); p != nil || err == nil {
			t.Fatalf("NewPool(%+v) = %v, %v", cfg, p, err)
		}
	}
}
