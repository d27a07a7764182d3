package kazoo_test

import (
	"fmt"

	"github.com/warrenmq/warren/actors/kazoo"
)

func ExampleEncode() {
	fmt.Println(kazoo.Encode("test&.192. 168. 5. 5#"))
	fmt.Println("call.status_req." + kazoo.Encode("0a1b2c@10.0.0.5"))
	fmt.Println(kazoo.Encode("*"))
	// Output:
	// test%26%2E192%2E+168%2E+5%2E+5%23
	// call.status_req.0a1b2c%4010%2E0%2E0%2E5
	// *
}

// Building the authn_req Kamailio sends when a phone registers, as a Go service would publish it.
func ExampleAPI_Build() {
	req, err := kazoo.AuthnReq.Build(map[string]any{
		"Msg-ID":     "5c3e0f5ad0c84c64b5a4c35ff0a0e2d1", // normally left out: Build fills a random one
		"To":         "1000@Example.com",
		"From":       "1000@Example.com",
		"Auth-User":  "1000",
		"Auth-Realm": "Example.com",
		"Method":     "REGISTER",
		"User-Agent": "", // empty values are dropped, as Kazoo does
	}, kazoo.Defaults{AppName: "warren", AppVersion: "0.1.0", ServerID: "warren@host-reply-0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := req.Marshal()
	fmt.Println(kazoo.AuthnReq.Exchange, kazoo.AuthnReqRoutingKey(kazoo.AuthnRealm(req)))
	fmt.Println(string(body))

	_, err = kazoo.AuthnReq.Build(map[string]any{"To": "1000@example.com"}, kazoo.Defaults{AppName: "warren", AppVersion: "0.1.0"})
	fmt.Println(err)
	// Output:
	// callmgr authn.req.example%2Ecom
	// {"App-Name":"warren","App-Version":"0.1.0","Auth-Realm":"Example.com","Auth-User":"1000","Event-Category":"directory","Event-Name":"authn_req","From":"1000@Example.com","Method":"REGISTER","Msg-ID":"5c3e0f5ad0c84c64b5a4c35ff0a0e2d1","Server-ID":"warren@host-reply-0","To":"1000@Example.com"}
	// warren: kazoo: directory/authn_req: missing From, Auth-User, Auth-Realm
}

// Answering a Kamailio kazoo_query: reply on "targeted" to its Server-ID, echoing its Msg-ID.
func ExampleNewReply() {
	req, err := kazoo.Parse([]byte(`{"App-Name":"kamailio","App-Version":"5.8.0","Node":"kamailio@sbc1",
		"Event-Category":"call_event","Event-Name":"query_user_channels_req","Realm":"example.com",
		"Username":"1000","Active-Only":false,"Msg-ID":"0b4a9c1e-7d2f-4e55-9a51-3c0d2b6f8e11",
		"Server-ID":"kamailio@sbc1-<1>-targeted-3"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := kazoo.NewReply(req, map[string]any{
		"Event-Category": "call_event",
		"Event-Name":     "query_user_channels_resp",
		"Channels":       []any{map[string]any{"switch_url": "sip:mod_sofia@10.0.0.7:11000"}},
	}, kazoo.Defaults{AppName: "warren", AppVersion: "0.1.0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	exchange, routingKey, _ := req.ReplyTo()
	body, _ := resp.Marshal()
	fmt.Println(exchange, routingKey)
	fmt.Println(string(body))
	// Output:
	// targeted kamailio@sbc1-<1>-targeted-3
	// {"App-Name":"warren","App-Version":"0.1.0","Channels":[{"switch_url":"sip:mod_sofia@10.0.0.7:11000"}],"Event-Category":"call_event","Event-Name":"query_user_channels_resp","Msg-ID":"0b4a9c1e-7d2f-4e55-9a51-3c0d2b6f8e11"}
}

// Reading a reply the way Kamailio's kazoo_json / $(kzR{kz.json,...}) does.
func ExampleGetString() {
	reply := []byte(`{"Event-Category":"call_event","Event-Name":"query_user_channels_resp",
		"Msg-ID":"0b4a9c1e","Channels":[{"switch_url":"sip:mod_sofia@10.0.0.7:11000","duration":42}]}`)
	for _, path := range []string{"Channels[0].switch_url", "Channels[0].duration", "Channels[1].switch_url", "Channels["} {
		v, ok, err := kazoo.GetString(reply, path)
		fmt.Printf("%s: %q %v %v\n", path, v, ok, err)
	}
	// Output:
	// Channels[0].switch_url: "sip:mod_sofia@10.0.0.7:11000" true <nil>
	// Channels[0].duration: "42" true <nil>
	// Channels[1].switch_url: "" false <nil>
	// Channels[: "" false warren: kazoo: malformed path "Channels[" at byte 8: '[' without ']'
}

func ExampleGet() {
	e, _ := kazoo.Parse([]byte(`{"Channels":[{"switch_url":"sip:fs1"},{"switch_url":"sip:fs2"}]}`))
	v, ok := kazoo.Get(e, "Channels[1].switch_url")
	fmt.Println(v, ok)
	// Output: sip:fs2 true
}

func ExampleEventRoutes() {
	e, _ := kazoo.Parse([]byte(`{"Event-Category":"directory","Event-Name":"reg_flush","Realm":"example.com"}`))
	for _, route := range kazoo.EventRoutes(e, "", "") {
		fmt.Println(route)
	}
	// Output:
	// kazoo:consumer-event-directory-reg-flush
	// kazoo:consumer-event-directory
	// kazoo:consumer-event-event-category-event-name
	// kazoo:consumer-event-event-category
	// kazoo:consumer-event
}

func ExampleStandardExchanges() {
	for _, x := range kazoo.StandardExchanges()[:3] {
		fmt.Println(x.Name, x.Kind, x.Durable, x.AutoDelete)
	}
	// Output:
	// targeted direct false false
	// callctl direct false false
	// callevt topic false false
}
