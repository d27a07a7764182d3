package publish_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/nullbroker"
)

// gunzipped is the body of m decompressed, failing the test unless m says
// gzip and is.
func gunzipped(t *testing.T, body []byte, encoding string) []byte {
	t.Helper()
	if encoding != "gzip" {
		t.Fatalf("content encoding %q, want gzip", encoding)
	}
	plain, err := kazoo.Gunzip(body, 0)
	if err != nil {
		t.Fatalf("the body is not gzip: %v", err)
	}
	return plain
}

func TestPublish_GzipCompressesTheBodyAsKazooDoes(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{})
	d := consumer(t, nb, "gzip-q", "kapps", "gz")
	ctx := within(t, 10*time.Second)
	body := bytes.Repeat([]byte(`{"Event-Category":"im","Event-Name":"inbound","Body":"hello"}`), 200)

	for _, tt := range []struct {
		name string
		opt  publish.Option
	}{
		{name: "Gzip", opt: publish.Gzip()},
		{name: "ContentEncoding gzip", opt: publish.ContentEncoding("gzip")}, // kz_amqp_util:basic_publish gzips it too
	} {
		if err := tree.Publish(ctx, "kapps", "gz", body, tt.opt); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		m := next(t, d)
		if plain := gunzipped(t, m.Body, m.ContentEncoding); !bytes.Equal(plain, body) || len(m.Body) >= len(body)/10 {
			t.Fatalf("%s: %d bytes on the wire for %d, decompressing to %d", tt.name, len(m.Body), len(body), len(plain))
		}
	}

	// A body in its encoding already goes out as it is.
	pre := kazoo.Gzip(body)
	if err := tree.Publish(ctx, "kapps", "gz", pre, publish.Gzip(), publish.Encoded()); err != nil {
		t.Fatal(err)
	}
	if m := next(t, d); !bytes.Equal(m.Body, pre) || m.ContentEncoding != "gzip" {
		t.Fatalf("Encoded: %d bytes (%q), want the %d given as they are", len(m.Body), m.ContentEncoding, len(pre))
	}
	// Other encodings only set the property.
	if err := tree.Publish(ctx, "kapps", "gz", body, publish.ContentEncoding("identity")); err != nil {
		t.Fatal(err)
	}
	if m := next(t, d); !bytes.Equal(m.Body, body) || m.ContentEncoding != "identity" {
		t.Fatalf("identity: %d bytes, %q", len(m.Body), m.ContentEncoding)
	}
}

// The size limit applies to the body on the wire: a compressed one fits
// where it would not have.
func TestPublish_GzipSizeLimitAppliesToTheCompressedBody(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{MaxMessageSize: 10000})
	d := consumer(t, nb, "gzip-size-q", "kapps", "gz")
	ctx := within(t, 10*time.Second)
	body := bytes.Repeat([]byte(`{"a":"b"}`), 10000) // 90 KB, a few hundred bytes gzipped
	if err := tree.Publish(ctx, "kapps", "gz", body); !errors.Is(err, publish.ErrTooLarge) {
		t.Fatalf("uncompressed: %v, want ErrTooLarge", err)
	}
	if err := tree.Publish(ctx, "kapps", "gz", body, publish.Gzip(), publish.Confirm()); err != nil {
		t.Fatalf("gzipped: %v", err)
	}
	if m := next(t, d); !bytes.Equal(gunzipped(t, m.Body, m.ContentEncoding), body) {
		t.Fatal("the gzipped body differs")
	}
}

// Every publish carries the time it was made, as Kazoo's do, unless told
// otherwise.
func TestPublish_TimestampDefaultsToNowAndUserIDArrives(t *testing.T) {
	nb := startNull(t, nullbroker.Config{User: "kazoo", Password: "pw"})
	tree := pubTree(t, nb, publish.Config{})
	d := consumer(t, nb, "stamp-q", "kapps", "ts")
	ctx := within(t, 10*time.Second)

	before := time.Now().Truncate(time.Second)
	if err := tree.Publish(ctx, "kapps", "ts", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if m := next(t, d); m.Timestamp.Before(before) || m.Timestamp.After(after) {
		t.Fatalf("default timestamp %v, want between %v and %v", m.Timestamp, before, after)
	}
	at := time.Date(2020, 2, 29, 12, 0, 0, 0, time.UTC)
	if err := tree.Publish(ctx, "kapps", "ts", []byte(`{}`), publish.Timestamp(at), publish.UserID("kazoo")); err != nil {
		t.Fatal(err)
	}
	if m := next(t, d); !m.Timestamp.Equal(at) || m.UserId != "kazoo" {
		t.Fatalf("timestamp %v, user id %q; want %v, kazoo", m.Timestamp, m.UserId, at)
	}
	if err := tree.Publish(ctx, "kapps", "ts", []byte(`{}`), publish.Timestamp(time.Time{})); err != nil {
		t.Fatal(err)
	}
	if m := next(t, d); !m.Timestamp.IsZero() {
		t.Fatalf("Timestamp(zero) published %v, want none", m.Timestamp)
	}
}

// A user id the broker refuses (not the connection's user) fails that
// publish alone, fire-and-forget or not, with the broker's reason; the
// publishes around it arrive.
func TestPublish_RefusedUserIDFailsThatPublishAlone(t *testing.T) {
	nb := startNull(t, nullbroker.Config{User: "kazoo", Password: "pw"})
	tree := pubTree(t, nb, publish.Config{})
	d := consumer(t, nb, "user-q", "kapps", "u")
	ctx := within(t, 10*time.Second)
	var failed []error
	for i := range 60 {
		var opts []publish.Option
		switch {
		case i == 20:
			opts = append(opts, publish.UserID("mallory"))
		case i == 40:
			opts = append(opts, publish.UserID("mallory"), publish.Confirm())
		case i%2 == 1:
			opts = append(opts, publish.Confirm())
		}
		if err := tree.Publish(ctx, "kapps", "u", []byte(`{"n":1}`), opts...); err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) != 2 {
		t.Fatalf("failed: %v; want the two with the refused user id", failed)
	}
	for _, err := range failed {
		if !errors.Is(err, publish.ErrUserRefused) || !strings.Contains(err.Error(), "user_id property set to 'mallory'") {
			t.Fatalf("%v: want ErrUserRefused with the broker's reason", err)
		}
	}
	for range 58 {
		next(t, d)
	}
}
