package tracing

import "go.opentelemetry.io/otel/attribute"

// Attribute names, after the OpenTelemetry messaging semantic conventions
// (spelt out here rather than imported from a semconv package, whose
// version moves with the SDK's), and Warren's own for broker and zone.
const (
	AttrSystem        = "messaging.system"                           // always "rabbitmq"
	AttrOperationType = "messaging.operation.type"                   // send, receive, process
	AttrOperationName = "messaging.operation.name"                   // publish, process, call, cast
	AttrDestination   = "messaging.destination.name"                 // the exchange
	AttrRoutingKey    = "messaging.rabbitmq.destination.routing_key" // the routing key
	AttrMessageID     = "messaging.message.id"                       // AMQP message-id or Kazoo Msg-ID
	AttrConversation  = "messaging.message.conversation_id"          // AMQP correlation-id
	AttrBodySize      = "messaging.message.body.size"                // bytes, never the body
	AttrConsumerGroup = "messaging.consumer.group.name"              // the listener's queue
	AttrBroker        = "warren.broker"                              // broker id, never its URI
	AttrZone          = "warren.zone"                                // the broker's zone
	AttrListener      = "warren.listener"                            // the listener's name
	AttrReplies       = "warren.rpc.replies"                         // replies a call gathered
	AttrErrorType     = "error.type"                                 // the error's class
)

// Operation names (messaging.operation.name), the first word of a span's
// name.
const (
	OpPublish = "publish"
	OpProcess = "process"
	OpCall    = "call"
	OpReply   = "reply"
)

// DefaultExchange names the AMQP default exchange ("") in span names.
const DefaultExchange = "amq.default"

// Attrs returns the attributes of a message on exchange with key; the
// ids that are empty, and a negative bodySize, are left out.
func Attrs(op, opType, exchange, key, messageID, correlationID string, bodySize int) []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 8)
	a = append(a, attribute.String(AttrSystem, "rabbitmq"), attribute.String(AttrOperationName, op),
		attribute.String(AttrOperationType, opType), attribute.String(AttrDestination, exchange),
		attribute.String(AttrRoutingKey, key))
	if bodySize >= 0 {
		a = append(a, attribute.Int(AttrBodySize, bodySize))
	}
	if messageID != "" {
		a = append(a, attribute.String(AttrMessageID, messageID))
	}
	if correlationID != "" {
		a = append(a, attribute.String(AttrConversation, correlationID))
	}
	return a
}
