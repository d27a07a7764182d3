package bench

import (
	"slices"
	"testing"
)

func TestListenersCounts_OnlyWhenAskedFor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given Options
		want  []int
	}{
		{"no counts, not named: skipped", Options{}, nil},
		{"no counts, other scenarios named: skipped", Options{Only: []string{"restart"}}, nil},
		{"named without counts: the default", Options{Only: []string{"listeners"}}, []int{DefaultListeners}},
		{"counts, nothing named: every count", Options{Listeners: []int{5000, 20000}}, []int{5000, 20000}},
		{"counts and named", Options{Listeners: []int{50}, Only: []string{"idle", "listeners"}}, []int{50}},
		{"counts, other scenarios named: Only wins", Options{Listeners: []int{50}, Only: []string{"idle"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := listenersCounts(tc.given); !slices.Equal(got, tc.want) {
				t.Fatalf("listenersCounts = %v, want %v", got, tc.want)
			}
		})
	}
}
