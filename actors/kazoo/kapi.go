package kazoo

import (
	"net"
	"strings"
)

// A few real Kazoo APIs, as their kapi_* modules define them on master.
// They serve as examples and test vectors; treat them as read-only.
var (
	// AuthnReq is kapi_authn's authn_req, the SIP digest credentials lookup Kamailio sends with
	// kazoo_query on callmgr; route it with [AuthnReqRoutingKey].
	AuthnReq = API{
		Category: "directory", Name: "authn_req", Exchange: ExchangeCallmgr,
		Required: []string{"To", "From", "Auth-User", "Auth-Realm"},
		Optional: []string{"Method", "Switch-Hostname", "Orig-IP", "Orig-Port", "Call-ID",
			"Auth-Nonce", "Auth-Response", "User-Agent", "Expires", "Contact", "Custom-SIP-Headers"},
	}

	// AuthnResp is kapi_authn's authn_resp, the reply to [AuthnReq], published on "targeted".
	AuthnResp = API{
		Category: "directory", Name: "authn_resp", Exchange: ExchangeTargeted,
		Required: []string{"Auth-Method", "Auth-Password"},
		Optional: []string{"Custom-Channel-Vars", "Custom-SIP-Headers", "Auth-Username", "Auth-Nonce",
			"Access-Group", "Tenant-ID", "Expires", "Suppress-Unregister-Notifications",
			"Register-Overwrite-Notify"},
		Values: map[string][]string{
			"Auth-Method": {"password", "ip", "a1-hash", "error", "gsm", "nonce", "a3a8"},
		},
	}

	// QueryUserChannelsReq is kapi_call's query_user_channels_req, published on callevt; route
	// it with [QueryUserChannelsReqRoutingKey]. Every payload key is optional.
	QueryUserChannelsReq = API{
		Category: "call_event", Name: "query_user_channels_req", Exchange: ExchangeCallevt,
		Optional: []string{"Active-Only", "Authorizing-IDs", "Realm", "Username", "Usernames"},
	}

	// QueryUserChannelsResp is kapi_call's query_user_channels_resp, the reply to
	// [QueryUserChannelsReq]; Kamailio reads it with paths such as "Channels[0].switch_url".
	QueryUserChannelsResp = API{
		Category: "call_event", Name: "query_user_channels_resp", Exchange: ExchangeTargeted,
		Optional: []string{"Channels"},
	}

	// RegSuccess is kapi_registration's reg_success, published on registrar (Kazoo master) after
	// a successful REGISTER; route it with [RegSuccessRoutingKey].
	RegSuccess = API{
		Category: "directory", Name: "reg_success", Exchange: ExchangeRegistrar,
		Required: []string{"Event-Timestamp", "Contact", "Expires", "Username", "Realm"},
		Optional: []string{"Status", "User-Agent", "Call-ID", "Profile-Name", "Presence-Hosts",
			"Account-ID", "Account-DB", "From-User", "From-Host", "To-User", "To-Host", "RPid",
			"Authorizing-ID", "FreeSWITCH-Hostname", "FreeSWITCH-Nodename", "Network-IP",
			"Network-Port", "Suppress-Unregister-Notify", "Register-Overwrite-Notify",
			"Original-Contact", "Registrar-Node", "Proxy-Path", "AOR", "RUID", "Proxy-Protocol",
			"Proxy-IP", "Proxy-Port", "Source-IP", "Source-Port", "First-Registration",
			"Custom-Channel-Vars"},
	}
)

// AuthnReqRoutingKey returns the callmgr routing key of an authn_req for realm:
// "authn.req." + Encode(lower(realm)), as kapi_authn:get_authn_req_routing/1 computes it from a
// request. Lower-casing is Kazoo's kz_term:to_lower_binary: per byte, A-Z and the Latin-1 capitals
// 0xC0-0xDE (not 0xD7), which alters UTF-8 lead bytes; the result is %-encoded either way.
// Bind with realm "*" to receive every realm.
func AuthnReqRoutingKey(realm string) string {
	return "authn.req." + Encode(lowerKazoo(realm))
}

// AuthnRealm returns the realm Kazoo routes an authn_req by (kapi_authn:get_auth_realm/1):
// Auth-Realm, or "missing.realm" without one; when Auth-Realm is an IP address, the domain of To
// ("user@domain") instead; lower-cased like [AuthnReqRoutingKey].
func AuthnRealm(e Envelope) string {
	realm := e.str("Auth-Realm")
	if realm == "" {
		realm = "missing.realm"
	}
	if net.ParseIP(realm) != nil {
		to := e.str("To")
		if to == "" {
			to = "nouser@nodomain"
		}
		if _, domain, ok := strings.Cut(to, "@"); ok {
			realm = domain
		}
	}
	return lowerKazoo(realm)
}

// QueryUserChannelsReqRoutingKey returns the callevt routing key kapi_call uses for a
// query_user_channels_req: "call.status_req." + Encode(username + ":" + realm), or
// "call.status_req." when both are empty. Pass the first of Usernames when Username is unset.
func QueryUserChannelsReqRoutingKey(username, realm string) string {
	if username == "" && realm == "" {
		return "call.status_req."
	}
	return "call.status_req." + Encode(username+":"+realm)
}

// RegSuccessRoutingKey returns the registrar routing key of a reg_success:
// "registration.success." + Encode(realm) + "." + Encode(username), as
// kapi_registration:get_success_routing/2 builds it. (Older Kamailio examples publish it on
// callmgr with the username left unencoded.)
func RegSuccessRoutingKey(realm, username string) string {
	return "registration.success." + Encode(realm) + "." + Encode(username)
}

// lowerKazoo is kz_term:to_lower_binary/1, byte by byte.
func lowerKazoo(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' || 0xC0 <= c && c <= 0xD6 || 0xD8 <= c && c <= 0xDE {
			b[i] = c + 32
		}
	}
	return string(b)
}
