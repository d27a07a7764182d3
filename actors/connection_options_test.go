package actors

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestConnectionOptions_Plan(t *testing.T) {
	tests := []struct {
		name    string
		given   ConnectionOptions
		wantURI string
		check   func(t *testing.T, p dialPlan)
		wantErr string
	}{
		{name: "fields build the URI", given: ConnectionOptions{Username: "kazoo", Password: "p@ss", Host: "h", Port: 5673, VirtualHost: "kz"},
			wantURI: "amqp://kazoo:p%40ss@h:5673/kz"},
		{name: "defaults to guest on localhost", given: ConnectionOptions{}, wantURI: "amqp://guest:guest@localhost/%2F"},
		{name: "kazoo:// is amqp://", given: ConnectionOptions{URL: "kazoo://u:p@h:5672"}, wantURI: "amqp://u:p@h:5672"},
		{name: "heartbeat defaults to 10s", given: ConnectionOptions{URL: "amqp://h"}, check: func(t *testing.T, p dialPlan) {
			if p.config.Heartbeat != DefaultHeartbeat {
				t.Fatalf("heartbeat %v", p.config.Heartbeat)
			}
		}},
		{name: "negative heartbeat disables", given: ConnectionOptions{URL: "amqp://h", Heartbeat: -1}, check: func(t *testing.T, p dialPlan) {
			if p.config.Heartbeat != 0 {
				t.Fatalf("heartbeat %v", p.config.Heartbeat)
			}
		}},
		{name: "settings reach amqp.Config", given: ConnectionOptions{URL: "amqp://h", ChannelMax: 100, FrameMax: 65536, Heartbeat: 3 * time.Second,
			ClientProperties: map[string]any{"x-app": "kz"}, ConnectionName: "svc"}, check: func(t *testing.T, p dialPlan) {
			c := p.config
			if c.ChannelMax != 100 || c.FrameSize != 65536 || c.Heartbeat != 3*time.Second || c.Properties["x-app"] != "kz" || c.Properties["connection_name"] != "svc" || c.Dial == nil {
				t.Fatalf("config %+v", c)
			}
		}},
		{name: "TLS files must exist", given: ConnectionOptions{URL: "amqps://h", CACertFile: "/nonexistent/ca.pem"}, wantErr: "cacertfile"},
		{name: "cert without key", given: ConnectionOptions{URL: "amqps://h", CertFile: "/x.pem"}, wantErr: "certfile and keyfile"},
		{name: "channel_max range", given: ConnectionOptions{URL: "amqp://h", ChannelMax: 70000}, wantErr: "channel_max"},
		{name: "bad scheme never echoes password", given: ConnectionOptions{URL: "http://u:s3cret@h/"}, wantErr: "scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.given.plan()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantURI != "" && p.uri != tt.wantURI {
				t.Fatalf("uri = %q, want %q", p.uri, tt.wantURI)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func TestSocketOptions_DialerHonoursTimeout(t *testing.T) {
	d := SocketOptions{}.dialer(200 * time.Millisecond)
	if _, err := d("tcp", "127.0.0.1:1"); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	// A peer that takes the connection (the listen backlog does) and never
	// says a word: the deadline the dialer set, not the peer, ends a read.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := d("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from a silent peer = %v; want the dial timeout's deadline", err)
	}
}
