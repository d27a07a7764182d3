package kazoo

import "testing"

func TestAuthnReqRoutingKey(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  string
	}{
		{name: "realm is encoded", given: "example.com", want: "authn.req.example%2Ecom"},
		{name: "realm is lower-cased first", given: "SIP.Example.COM", want: "authn.req.sip%2Eexample%2Ecom"},
		{name: "wildcard binding", given: "*", want: "authn.req.*"},
		{name: "ip realm", given: "10.0.0.5", want: "authn.req.10%2E0%2E0%2E5"},
		// kz_term:to_lower_binary adds 32 to bytes 0xC0-0xD6 and 0xD8-0xDE, UTF-8 lead bytes included:
		// "É" is C3 89, whose C3 becomes E3.
		{name: "latin-1 lowering is per byte like kazoo", given: "É", want: "authn.req.%E3%89"},
		{name: "0xD7 is not lowered", given: "\xd7", want: "authn.req.%D7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AuthnReqRoutingKey(tt.given); got != tt.want {
				t.Errorf("AuthnReqRoutingKey(%q) = %q, want %q", tt.given, got, tt.want)
			}
		})
	}
}

func TestAuthnRealm(t *testing.T) {
	tests := []struct {
		name  string
		given Envelope
		want  string
	}{
		{name: "auth realm, lower-cased", given: Envelope{"Auth-Realm": "Example.COM"}, want: "example.com"},
		{name: "missing realm", given: Envelope{}, want: "missing.realm"},
		{name: "ipv4 realm uses the To domain", given: Envelope{"Auth-Realm": "10.0.0.5", "To": "1000@Tenant.example.com"}, want: "tenant.example.com"},
		{name: "ipv6 realm uses the To domain", given: Envelope{"Auth-Realm": "2001:db8::1", "To": "1000@b.example.com"}, want: "b.example.com"},
		{name: "ip realm without To", given: Envelope{"Auth-Realm": "10.0.0.5"}, want: "nodomain"},
		{name: "ip realm with a To lacking a domain keeps the ip", given: Envelope{"Auth-Realm": "10.0.0.5", "To": "1000"}, want: "10.0.0.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AuthnRealm(tt.given); got != tt.want {
				t.Errorf("AuthnRealm(%v) = %q, want %q", tt.given, got, tt.want)
			}
		})
	}
}

func TestQueryUserChannelsReqRoutingKey(t *testing.T) {
	tests := []struct {
		name            string
		username, realm string
		want            string
	}{
		{name: "user and realm", username: "1000", realm: "example.com", want: "call.status_req.1000%3Aexample%2Ecom"},
		{name: "neither", want: "call.status_req."},
		{name: "case is kept", username: "Bob", realm: "Example.com", want: "call.status_req.Bob%3AExample%2Ecom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := QueryUserChannelsReqRoutingKey(tt.username, tt.realm); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRegSuccessRoutingKey(t *testing.T) {
	tests := []struct {
		name            string
		realm, username string
		want            string
	}{
		{name: "both encoded", realm: "example.com", username: "user.1", want: "registration.success.example%2Ecom.user%2E1"},
		{name: "wildcards pass", realm: "*", username: "*", want: "registration.success.*.*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RegSuccessRoutingKey(tt.realm, tt.username); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKazooAPIs_AreWellFormed(t *testing.T) {
	for _, a := range []API{AuthnReq, AuthnResp, QueryUserChannelsReq, QueryUserChannelsResp, RegSuccess} {
		t.Run(a.String(), func(t *testing.T) {
			if a.Category == "" || a.Name == "" || a.Exchange == "" {
				t.Fatalf("incomplete API %+v", a)
			}
			seen := map[string]bool{}
			for _, k := range append(append([]string{}, a.Required...), a.Optional...) {
				if seen[k] {
					t.Errorf("key %q listed twice", k)
				}
				seen[k] = true
			}
			for k := range a.Values {
				if !seen[k] {
					t.Errorf("Values constrains %q, which is neither required nor optional", k)
				}
			}
		})
	}
}
