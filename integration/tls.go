package integration

import (
	"testing"

	"github.com/warrenmq/warren/internal/rabbitnode"
)

// TLSFiles are PEM files of a test certificate authority, a server certificate for localhost,
// 127.0.0.1 and ::1, and a client certificate, all signed by that CA ([rabbitnode.TLSFiles]).
type TLSFiles = rabbitnode.TLSFiles

// GenerateTLS creates a CA, a server and a client certificate (ECDSA P-256, valid for a day) in
// t.TempDir(). Pass the result to WithTLS and dial with ClientTLSConfig.
func GenerateTLS(t testing.TB) *TLSFiles {
	t.Helper()
	f, err := rabbitnode.GenerateTLS(t.TempDir())
	if err != nil {
		t.Fatalf("integration: %v", err)
	}
	return f
}
