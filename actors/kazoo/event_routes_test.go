package kazoo

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestEventRoutes(t *testing.T) {
	tests := []struct {
		name        string
		given       Envelope
		key, subkey string
		want        []string
	}{
		{
			name:  "registrar flush, the registrar-role.cfg example",
			given: Envelope{"Event-Category": "directory", "Event-Name": "reg_flush"},
			want: []string{"kazoo:consumer-event-directory-reg-flush", "kazoo:consumer-event-directory",
				"kazoo:consumer-event-event-category-event-name", "kazoo:consumer-event-event-category", "kazoo:consumer-event"},
		},
		{
			name:  "presence update, the module docs example",
			given: Envelope{"Event-Category": "presence", "Event-Name": "update"},
			want: []string{"kazoo:consumer-event-presence-update", "kazoo:consumer-event-presence",
				"kazoo:consumer-event-event-category-event-name", "kazoo:consumer-event-event-category", "kazoo:consumer-event"},
		},
		{
			name:  "upper case and underscores are folded",
			given: Envelope{"Event-Category": "Call_Event", "Event-Name": "CHANNEL_CREATE"},
			want: []string{"kazoo:consumer-event-call-event-channel-create", "kazoo:consumer-event-call-event",
				"kazoo:consumer-event-event-category-event-name", "kazoo:consumer-event-event-category", "kazoo:consumer-event"},
		},
		{
			name:  "connection event",
			given: Envelope{"Event-Category": "connection", "Event-Name": "open", "host": "10.0.0.5", "zone": "local"},
			want: []string{"kazoo:consumer-event-connection-open", "kazoo:consumer-event-connection",
				"kazoo:consumer-event-event-category-event-name", "kazoo:consumer-event-event-category", "kazoo:consumer-event"},
		},
		{
			name:  "subscription keys",
			given: Envelope{"Event-Package": "dialog", "State": "early"},
			key:   "Event-Package", subkey: "State",
			want: []string{"kazoo:consumer-event-dialog-early", "kazoo:consumer-event-dialog",
				"kazoo:consumer-event-event-package-state", "kazoo:consumer-event-event-package", "kazoo:consumer-event"},
		},
		{
			name:  "an explicit key missing from the payload stands for its value",
			given: Envelope{"Event-Name": "x"},
			key:   "Blf_Key", subkey: "Event-Name",
			want: []string{"kazoo:consumer-event-blf-key-x", "kazoo:consumer-event-blf-key",
				"kazoo:consumer-event-blf-key-event-name", "kazoo:consumer-event"},
		},
		{
			name:  "without category or name only the key routes remain",
			given: Envelope{},
			want:  []string{"kazoo:consumer-event-event-category-event-name", "kazoo:consumer-event-event-category", "kazoo:consumer-event"},
		},
		{
			name:  "without a name the category-name route is skipped",
			given: Envelope{"Event-Category": "directory"},
			want: []string{"kazoo:consumer-event-directory", "kazoo:consumer-event-event-category-event-name",
				"kazoo:consumer-event-event-category", "kazoo:consumer-event"},
		},
		{
			name:  "non-string values are printed as json-c does",
			given: Envelope{"Event-Category": json.Number("5"), "Event-Name": true},
			want: []string{"kazoo:consumer-event-5-true", "kazoo:consumer-event-5",
				"kazoo:consumer-event-event-category-event-name", "kazoo:consumer-event-event-category", "kazoo:consumer-event"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EventRoutes(tt.given, tt.key, tt.subkey)
			if !slices.Equal(got, tt.want) {
				t.Errorf("EventRoutes =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}
