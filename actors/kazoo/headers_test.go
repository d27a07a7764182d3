package kazoo

import (
	"slices"
	"testing"
)

func TestRequiredHeaders(t *testing.T) {
	want := []string{"App-Name", "App-Version", "Event-Category", "Event-Name", "Msg-ID"}
	got := RequiredHeaders()
	if !slices.Equal(got, want) {
		t.Fatalf("RequiredHeaders() = %q, want kz_api.hrl's DEFAULT_HEADERS %q", got, want)
	}
	got[0] = "changed"
	if RequiredHeaders()[0] != "App-Name" {
		t.Fatal("RequiredHeaders shares its slice with callers")
	}
}
