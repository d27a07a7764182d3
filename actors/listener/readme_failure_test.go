package listener

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// The README's "What happens to a handler error" states the defaults of
// failure.go, where a newcomer looks for them.
func TestREADME_HandlerErrorSectionStatesTheDefaults(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(data), "### What happens to a handler error\n")
	if !ok {
		t.Fatal(`README.md has no "### What happens to a handler error" section`)
	}
	sec, _, _ = strings.Cut(sec, "\n#")
	sec = strings.Join(strings.Fields(sec), " ") // as rendered: line breaks are spaces
	var zero ErrorPolicy
	for _, w := range []string{
		fmt.Sprintf("(%d runs in all, about %d ms and %d ms apart)", DefaultRetryAttempts,
			DefaultRetryBackoff.Milliseconds(), 2*DefaultRetryBackoff.Milliseconds()),
		"dead-lettered", "`<queue>_error`", "then acked", "`Requeue`", "`Discard` (nack without requeue, Kazoo's way)",
	} {
		if !strings.Contains(sec, w) {
			t.Errorf("the section lacks %q:\n%s", w, sec)
		}
	}
	if zero != DeadLetter {
		t.Errorf("the zero ErrorPolicy is %v: the README says dead-lettering is the default", zero)
	}
}
