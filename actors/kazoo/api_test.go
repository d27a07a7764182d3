package kazoo

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func validAuthnReq() Envelope {
	return Envelope{
		"App-Name": "kamailio", "App-Version": "5.8.0", "Event-Category": "directory", "Event-Name": "authn_req",
		"Msg-ID": "0b4a9c1e-7d2f-4e55-9a51-3c0d2b6f8e11", "Server-ID": "kamailio@sbc1-<1>-targeted-0",
		"To": "1000@example.com", "From": "1000@example.com", "Auth-User": "1000", "Auth-Realm": "example.com",
		"Method": "REGISTER", "X-Unknown": "kept",
	}
}

func TestAPI_Validate(t *testing.T) {
	tests := []struct {
		name        string
		api         API
		given       func(Envelope)
		wantMissing []string
		wantInvalid []string
	}{
		{name: "a valid authn_req passes", api: AuthnReq, given: func(Envelope) {}},
		{name: "names every missing key, envelope first", api: AuthnReq,
			given:       func(e Envelope) { delete(e, "Msg-ID"); delete(e, "To"); e["Auth-Realm"] = "" },
			wantMissing: []string{"Msg-ID", "To", "Auth-Realm"}},
		{name: "a null required key is missing", api: AuthnReq,
			given: func(e Envelope) { e["From"] = nil }, wantMissing: []string{"From"}},
		{name: "wrong event name", api: AuthnReq,
			given:       func(e Envelope) { e["Event-Name"] = "authn_resp" },
			wantInvalid: []string{`Event-Name "authn_resp" (want "authn_req")`}},
		{name: "a message of another API", api: RegSuccess,
			given: func(e Envelope) {
				for _, k := range RegSuccess.Required {
					e[k] = "x"
				}
			},
			wantInvalid: []string{`Event-Name "authn_req" (want "reg_success")`}},
		{name: "wrong category", api: AuthnReq,
			given:       func(e Envelope) { e["Event-Category"] = "call_event" },
			wantInvalid: []string{`Event-Category "call_event" (want "directory")`}},
		{name: "value outside the allowed list", api: AuthnResp,
			given: func(e Envelope) {
				e["Event-Name"], e["Auth-Method"], e["Auth-Password"] = "authn_resp", "plaintext", "secret"
			},
			wantInvalid: []string{`Auth-Method "plaintext" (want one of "password", "ip", "a1-hash", "error", "gsm", "nonce", "a3a8")`}},
		{name: "allowed value passes", api: AuthnResp,
			given: func(e Envelope) { e["Event-Name"], e["Auth-Method"], e["Auth-Password"] = "authn_resp", "a1-hash", "x" }},
		{name: "a required key also in the envelope is reported once", api: API{Category: "directory", Name: "authn_req", Required: []string{"Msg-ID"}},
			given: func(e Envelope) { delete(e, "Msg-ID") }, wantMissing: []string{"Msg-ID"}},
		{name: "a non-string value is compared by its text", api: API{Category: "directory", Name: "authn_req", Values: map[string][]string{"Expires": {"300"}}},
			given: func(e Envelope) { e["Expires"] = 3600 }, wantInvalid: []string{`Expires 3600 (want one of "300")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validAuthnReq()
			tt.given(e)
			err := tt.api.Validate(e)
			if tt.wantMissing == nil && tt.wantInvalid == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate error = %v, want a *ValidationError", err)
			}
			if ve.API != tt.api.String() {
				t.Errorf("API = %q, want %q", ve.API, tt.api.String())
			}
			if !slices.Equal(ve.Missing, tt.wantMissing) {
				t.Errorf("Missing = %q, want %q", ve.Missing, tt.wantMissing)
			}
			if !slices.Equal(ve.Invalid, tt.wantInvalid) {
				t.Errorf("Invalid = %q, want %q", ve.Invalid, tt.wantInvalid)
			}
			if !strings.Contains(err.Error(), tt.api.String()) {
				t.Errorf("error %q does not name the API", err)
			}
		})
	}
}

func TestAPI_Build(t *testing.T) {
	fields := map[string]any{
		"Event-Category": "wrong", "To": "1000@example.com", "From": "1000@example.com",
		"Auth-User": "1000", "Auth-Realm": "example.com", "Method": "", "Orig-IP": nil,
	}
	e, err := AuthnReq.Build(fields, testDefaults)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if !AuthnReq.Is(e) {
		t.Errorf("built %s/%s, want %s", e.Category(), e.Name(), AuthnReq)
	}
	if _, ok := e["Method"]; ok {
		t.Error(`an empty "Method" survived Build`)
	}
	if !msgIDForm.MatchString(e.MsgID()) || e.ServerID() != "warren-test-reply" || e["App-Name"] != "warren" {
		t.Errorf("defaults not filled: %v", e)
	}
	if fields["Event-Category"] != "wrong" || len(fields) != 7 {
		t.Errorf("Build modified its argument: %v", fields)
	}

	_, err = AuthnReq.Build(map[string]any{"To": "x"}, Defaults{})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Build of an incomplete request: error %v, want *ValidationError", err)
	}
	want := []string{"App-Name", "App-Version", "From", "Auth-User", "Auth-Realm"}
	if !slices.Equal(ve.Missing, want) {
		t.Errorf("Missing = %q, want %q", ve.Missing, want)
	}
}

func TestAPI_String(t *testing.T) {
	if got := QueryUserChannelsReq.String(); got != "call_event/query_user_channels_req" {
		t.Errorf("String() = %q", got)
	}
}
