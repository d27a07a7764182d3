// Package kazoo is Kazoo's AMQP wire format in plain Go: exchange declarations, routing-key
// encoding, the JSON message envelope, reply routing and Kamailio's JSON paths and event-route
// names. It opens no connection and needs no broker; the actors that talk to RabbitMQ build on it.
//
// Everything here must match what 2600Hz Kazoo (Erlang kazoo_amqp) and Kamailio's kazoo module put
// on the wire, so that a Warren service can join a running Kazoo / Kamailio cluster.
//
// # Exchanges
//
// [StandardExchanges] lists the 17 exchanges of Kazoo's kz_amqp.hrl with the flags kz_amqp_util
// declares them with: non-durable, non-auto-delete. "targeted" and "callctl" are direct, "nodes"
// is fanout, the rest are topic.
//
// # Routing keys
//
// [Encode] is kz_amqp_util:encode/1 and Kamailio's kazoo_encode: it turns one routing-key word
// into [a-zA-Z0-9-~_] plus %XX and '+', so that a '.' in a realm or Call-ID cannot split it.
// [Decode] reverses it. [AuthnReqRoutingKey], [QueryUserChannelsReqRoutingKey] and
// [RegSuccessRoutingKey] build the keys of the matching APIs.
//
// # Envelope
//
// A Kazoo message is one JSON object: envelope headers (App-Name, App-Version, Event-Category,
// Event-Name, Msg-ID, Server-ID, Node, …) sit beside the payload keys. [Envelope] is that object
// as a map; [Parse] and [Envelope.Marshal] round-trip it, unknown keys and exact numbers
// included. [Envelope.Prepare] is kz_api:prepare_api_payload plus the default-header check. An
// [API] describes one kapi_* message type (category, name, required keys, allowed values);
// [API.Validate] and [API.Build] check and build it. [AuthnReq], [AuthnResp],
// [QueryUserChannelsReq], [QueryUserChannelsResp] and [RegSuccess] are real examples.
//
// # Bodies
//
// Kazoo sends large bodies gzipped (content_encoding "gzip": kz_amqp_util:basic_publish compresses,
// gen_listener decompresses). [Gzip] compresses; [DecodeBody] and [ParseEncoded] decompress, to at
// most [DefaultMaxDecodedSize], so that a gzip bomb fails that body alone ([ErrBodyTooLarge]). Other
// encodings are left as they are. [StampTime] reads the AMQP timestamp of a Kazoo publish
// (microseconds since year 0) or of anyone else's (seconds since 1970).
//
// # Requests and replies
//
// Correlation is always in the body, never in AMQP properties: a requester puts the routing key
// of its reply queue in Server-ID and a Msg-ID; the responder publishes to "targeted" with that
// Server-ID as routing key ([Envelope.ReplyTo]) and echoes the Msg-ID ([NewReply]). Neither Kazoo
// nor Kamailio sets reply_to or correlation_id. A Server-ID "consumer://<hint>/<key>" (Kazoo's
// federator, Kamailio) or "pid://<pid>/<key>" (kz_api:encode_pid) is answered on <key>;
// [Envelope.ReplyAddress] keeps the hint, and the AMQP-Broker and AMQP-Broker-Zone a federator
// adds, for a reply that must go back where the request came from.
//
// # Kamailio
//
// [ParsePath], [Get] and [GetString] read values with Kamailio's kz.json path syntax
// ("Channels[0].switch_url"). [EventRoutes] lists the event_route[kazoo:consumer-event-…] names
// Kamailio would try for a consumed message, for dispatching the same way.
//
// # Concurrency
//
// Functions and [API] values are safe for concurrent use. An [Envelope] is a map: share it only
// read-only, or hand over a [Envelope.Clone].
package kazoo
