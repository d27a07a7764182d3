package main

import (
	"strings"
	"testing"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
)

// --gzip sends the payload compressed with content encoding gzip, as a
// Kazoo peer expects a large body; the JSON check reads it before.
func TestPublish_GzipCompressesThePayload(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	ch := testkit.AMQPChannel(t, nb.URL())
	if _, err := ch.QueueDeclare("cli-gzip-q", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	payload := `{"Event-Category":"im","Event-Name":"outbound","Body":"` + strings.Repeat("mms ", 500) + `"}`
	code, out, errOut := warren(t, "publish", "--url", nb.URL(), "--exchange", "", "--key", "cli-gzip-q", "--count", "2", "--gzip", payload)
	if code != exitOK {
		t.Fatalf("warren publish --gzip = %d\n%s%s", code, out, errOut)
	}
	for range 2 {
		d, ok, err := ch.Get("cli-gzip-q", true)
		if err != nil || !ok {
			t.Fatalf("get: ok %v, err %v", ok, err)
		}
		plain, err := kazoo.DecodeBody(d.ContentEncoding, d.Body, 0)
		if d.ContentEncoding != "gzip" || err != nil || string(plain) != payload || len(d.Body) >= len(payload)/4 {
			t.Fatalf("delivered %d bytes, content encoding %q, decoding to %d (%v); want the %d-byte payload gzipped",
				len(d.Body), d.ContentEncoding, len(plain), err, len(payload))
		}
	}
	code, _, errOut = warren(t, "publish", "--url", nb.URL(), "--exchange", "", "--gzip", `{"a":`)
	if code != exitUsage || !strings.Contains(errOut, "not valid JSON") {
		t.Fatalf("--gzip of malformed JSON = %d, %s; want the JSON check first", code, errOut)
	}
}
