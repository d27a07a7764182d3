package rabbitnode

import (
	"os"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestTail_KeepsTheLastLines(t *testing.T) {
	tests := []struct {
		name  string
		given string
		n     int
		want  string
	}{
		{"fewer lines than n", "a\nb\n", 5, "a\nb\n"},
		{"more lines than n", "a\nb\nc\nd", 2, "c\nd\n"},
		{"empty text", "", 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Tail(tt.given, tt.n); got != tt.want {
				t.Fatalf("Tail(%q, %d) = %q, want %q", tt.given, tt.n, got, tt.want)
			}
		})
	}
}
