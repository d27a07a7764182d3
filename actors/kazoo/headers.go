package kazoo

// Envelope header keys: the JSON keys Kazoo's kz_api puts beside the payload keys of every
// message (include/kz_api.hrl, kz_api_literals.hrl). They are JSON keys in the body,
// not AMQP headers.
const (
	HeaderAppName           = "App-Name"        // required; the sending application
	HeaderAppVersion        = "App-Version"     // required
	HeaderEventCategory     = "Event-Category"  // required; with Event-Name, selects the API
	HeaderEventName         = "Event-Name"      // required
	HeaderMsgID             = "Msg-ID"          // required; correlates a reply with its request
	HeaderNode              = "Node"            // the sender's Erlang node name, e.g. "kamailio@host"
	HeaderServerID          = "Server-ID"       // reply routing key on the targeted exchange
	HeaderServerQueueID     = "Server-Queue-ID" // the caller's original Server-ID (kz_amqp_worker)
	HeaderMsgReplyID        = "Msg-Reply-ID"    // when set, replies carry it as their Msg-ID
	HeaderDeferResponse     = "Defer-Response"  // true: the worker holds this reply until timeout
	HeaderCallID            = "Call-ID"
	HeaderAccountID         = "Account-ID"
	HeaderSystemLogID       = "System-Log-ID"
	HeaderAccessGroup       = "Access-Group"
	HeaderGeoLocation       = "Geo-Location"
	HeaderDestinationServer = "Destination-Server"
	HeaderRawHeaders        = "Raw-Headers"
	HeaderTenantID          = "Tenant-ID"
	HeaderRequestFromPID    = "Request-From-PID"
	HeaderReplyToPID        = "Reply-To-PID"
	HeaderAMQPBroker        = "AMQP-Broker"      // federated events: Kazoo's federator puts the broker URI, Warren's the broker id
	HeaderAMQPBrokerZone    = "AMQP-Broker-Zone" // federated events (both federators), and Kamailio adds it to what it consumes
	HeaderAMQPReceived      = "AMQP-Received"    // Kamailio adds it: unix seconds of receipt
	HeaderDeliverToPID      = "Deliver-To-PID"   // the only AMQP header (not JSON key) Kazoo sets
)

// ContentType is the AMQP content type of every Kazoo and Kamailio message.
const ContentType = "application/json"

// RequiredHeaders returns the keys every Kazoo message must carry (kz_api.hrl DEFAULT_HEADERS),
// in a fresh slice.
func RequiredHeaders() []string {
	return []string{HeaderAppName, HeaderAppVersion, HeaderEventCategory, HeaderEventName, HeaderMsgID}
}

// stringHeaders are the keys Kazoo's DEFAULT_TYPES require to be JSON strings when present.
var stringHeaders = []string{
	HeaderServerID, HeaderEventCategory, HeaderEventName, HeaderAppName, HeaderAppVersion,
	HeaderRawHeaders, HeaderDestinationServer, HeaderGeoLocation, HeaderAccessGroup, HeaderTenantID,
	HeaderMsgID,
}
