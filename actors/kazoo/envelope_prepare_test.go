package kazoo

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var msgIDForm = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestNewMsgID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewMsgID()
		if !msgIDForm.MatchString(id) {
			t.Fatalf("NewMsgID() = %q, want 32 lower-case hex digits like kz_binary:rand_hex(16)", id)
		}
		if seen[id] {
			t.Fatalf("NewMsgID() repeated %q", id)
		}
		seen[id] = true
	}
}

var testDefaults = Defaults{AppName: "warren", AppVersion: "0.1.0", Node: "warren@test", ServerID: "warren-test-reply"}

func TestEnvelope_Prepare(t *testing.T) {
	tests := []struct {
		name        string
		given       Envelope
		defaults    Defaults
		want        Envelope // compared after replacing a generated Msg-ID by "<generated>"
		wantMissing []string
		wantInvalid []string // substrings, one per Invalid entry
	}{
		{
			name:     "fills defaults and a Msg-ID",
			given:    Envelope{"Event-Category": "directory", "Event-Name": "authn_req"},
			defaults: testDefaults,
			want: Envelope{"Event-Category": "directory", "Event-Name": "authn_req", "App-Name": "warren",
				"App-Version": "0.1.0", "Node": "warren@test", "Server-ID": "warren-test-reply", "Msg-ID": "<generated>"},
		},
		{
			name: "keeps what is already there",
			given: Envelope{"Event-Category": "c", "Event-Name": "n", "App-Name": "kamailio", "App-Version": "5.8",
				"Node": "kamailio@sbc", "Server-ID": "q1", "Msg-ID": "m1"},
			defaults: testDefaults,
			want: Envelope{"Event-Category": "c", "Event-Name": "n", "App-Name": "kamailio", "App-Version": "5.8",
				"Node": "kamailio@sbc", "Server-ID": "q1", "Msg-ID": "m1"},
		},
		{
			name: "strips null and empty values, nested too, but not inside arrays",
			given: Envelope{"Event-Category": "c", "Event-Name": "n", "Gone": nil, "Empty": "",
				"Obj": map[string]any{"x": "", "y": nil, "z": "kept", "Server-ID": ""}, "Arr": []any{"", nil}},
			defaults: Defaults{AppName: "a", AppVersion: "v"},
			want: Envelope{"Event-Category": "c", "Event-Name": "n", "App-Name": "a", "App-Version": "v",
				"Obj": map[string]any{"z": "kept", "Server-ID": ""}, "Arr": []any{"", nil}, "Msg-ID": "<generated>"},
		},
		{
			name:     "an empty Server-ID stays when there is no default, as in Kazoo",
			given:    Envelope{"Event-Category": "c", "Event-Name": "n", "Server-ID": ""},
			defaults: Defaults{AppName: "a", AppVersion: "v"},
			want: Envelope{"Event-Category": "c", "Event-Name": "n", "Server-ID": "", "App-Name": "a",
				"App-Version": "v", "Msg-ID": "<generated>"},
		},
		{
			name:     "an empty Server-ID is filled from the defaults",
			given:    Envelope{"Event-Category": "c", "Event-Name": "n", "Server-ID": ""},
			defaults: testDefaults,
			want: Envelope{"Event-Category": "c", "Event-Name": "n", "Server-ID": "warren-test-reply", "App-Name": "warren",
				"App-Version": "0.1.0", "Node": "warren@test", "Msg-ID": "<generated>"},
		},
		{
			name:     "a null Server-ID is dropped",
			given:    Envelope{"Event-Category": "c", "Event-Name": "n", "Server-ID": nil},
			defaults: Defaults{AppName: "a", AppVersion: "v"},
			want:     Envelope{"Event-Category": "c", "Event-Name": "n", "App-Name": "a", "App-Version": "v", "Msg-ID": "<generated>"},
		},
		{
			name:     "an empty Msg-ID is replaced",
			given:    Envelope{"Event-Category": "c", "Event-Name": "n", "Msg-ID": ""},
			defaults: Defaults{AppName: "a", AppVersion: "v"},
			want:     Envelope{"Event-Category": "c", "Event-Name": "n", "App-Name": "a", "App-Version": "v", "Msg-ID": "<generated>"},
		},
		{
			name:        "names every missing header",
			given:       Envelope{"Event-Name": ""},
			wantMissing: []string{"App-Name", "App-Version", "Event-Category", "Event-Name"},
		},
		{
			name:        "headers Kazoo types as binaries must be strings",
			given:       Envelope{"Event-Category": "c", "Event-Name": json.Number("5"), "Msg-ID": true, "Server-ID": map[string]any{"a": "b"}},
			defaults:    Defaults{AppName: "a", AppVersion: "v"},
			wantInvalid: []string{`Server-ID {"a":"b"}`, "Event-Name 5", "Msg-ID true"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.given.Clone()
			err := e.Prepare(tt.defaults)
			if tt.wantMissing != nil || tt.wantInvalid != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("Prepare error = %v, want a *ValidationError", err)
				}
				if !slices.Equal(ve.Missing, tt.wantMissing) {
					t.Errorf("Missing = %q, want %q", ve.Missing, tt.wantMissing)
				}
				if len(ve.Invalid) != len(tt.wantInvalid) {
					t.Fatalf("Invalid = %q, want entries containing %q", ve.Invalid, tt.wantInvalid)
				}
				for i, w := range tt.wantInvalid {
					if !strings.Contains(ve.Invalid[i], w) {
						t.Errorf("Invalid[%d] = %q, want it to contain %q", i, ve.Invalid[i], w)
					}
				}
				if tt.wantMissing != nil && !errors.Is(err, ErrMissingHeader) {
					t.Error("errors.Is(err, ErrMissingHeader) = false")
				}
				if tt.wantInvalid != nil && !errors.Is(err, ErrInvalidValue) {
					t.Error("errors.Is(err, ErrInvalidValue) = false")
				}
				return
			}
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if tt.want["Msg-ID"] == "<generated>" {
				if !msgIDForm.MatchString(e.MsgID()) {
					t.Errorf("Msg-ID = %q, want a generated 32-hex-digit id", e.MsgID())
				}
				e["Msg-ID"] = "<generated>"
			}
			assertSameJSON(t, e, tt.want)
		})
	}
}

func TestValidationError_Message(t *testing.T) {
	tests := []struct {
		name  string
		given *ValidationError
		want  string
	}{
		{name: "missing only", given: &ValidationError{Missing: []string{"App-Name", "Msg-ID"}},
			want: "warren: kazoo: missing App-Name, Msg-ID"},
		{name: "api and both lists", given: &ValidationError{API: "directory/authn_req", Missing: []string{"To"}, Invalid: []string{`Event-Name "x" (want "authn_req")`}},
			want: `warren: kazoo: directory/authn_req: missing To; invalid Event-Name "x" (want "authn_req")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.given.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

// assertSameJSON compares two envelopes by their JSON encoding.
func assertSameJSON(t *testing.T, got, want Envelope) {
	t.Helper()
	g, err := got.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	w, err := want.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("envelope mismatch:\n got %s\nwant %s", g, w)
	}
}
