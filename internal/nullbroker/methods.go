package nullbroker

import "fmt"

// Class ids of AMQP 0-9-1 (plus RabbitMQ's confirm extension).
const (
	classConnection = 10
	classChannel    = 20
	classExchange   = 40
	classQueue      = 50
	classBasic      = 60
	classConfirm    = 85
	classTx         = 90
)

// methodID names a method by its class and method ids, the first four
// octets of a method frame's payload.
type methodID struct{ class, method uint16 }

// The methods nullbroker reads or writes.
var (
	connectionStart     = methodID{10, 10}
	connectionStartOk   = methodID{10, 11}
	connectionSecure    = methodID{10, 20}
	connectionSecureOk  = methodID{10, 21}
	connectionTune      = methodID{10, 30}
	connectionTuneOk    = methodID{10, 31}
	connectionOpen      = methodID{10, 40}
	connectionOpenOk    = methodID{10, 41}
	connectionClose     = methodID{10, 50}
	connectionCloseOk   = methodID{10, 51}
	connectionBlocked   = methodID{10, 60}
	connectionUnblocked = methodID{10, 61}
	connectionUpdSecret = methodID{10, 70}
	connectionUpdSecOk  = methodID{10, 71}

	channelOpen    = methodID{20, 10}
	channelOpenOk  = methodID{20, 11}
	channelFlow    = methodID{20, 20}
	channelFlowOk  = methodID{20, 21}
	channelClose   = methodID{20, 40}
	channelCloseOk = methodID{20, 41}

	exchangeDeclare   = methodID{40, 10}
	exchangeDeclareOk = methodID{40, 11}
	exchangeDelete    = methodID{40, 20}
	exchangeDeleteOk  = methodID{40, 21}
	exchangeBind      = methodID{40, 30}
	exchangeBindOk    = methodID{40, 31}
	exchangeUnbind    = methodID{40, 40}
	exchangeUnbindOk  = methodID{40, 51}

	queueDeclare   = methodID{50, 10}
	queueDeclareOk = methodID{50, 11}
	queueBind      = methodID{50, 20}
	queueBindOk    = methodID{50, 21}
	queuePurge     = methodID{50, 30}
	queuePurgeOk   = methodID{50, 31}
	queueDelete    = methodID{50, 40}
	queueDeleteOk  = methodID{50, 41}
	queueUnbind    = methodID{50, 50}
	queueUnbindOk  = methodID{50, 51}

	basicQos          = methodID{60, 10}
	basicQosOk        = methodID{60, 11}
	basicConsume      = methodID{60, 20}
	basicConsumeOk    = methodID{60, 21}
	basicCancel       = methodID{60, 30}
	basicCancelOk     = methodID{60, 31}
	basicPublish      = methodID{60, 40}
	basicReturn       = methodID{60, 50}
	basicDeliver      = methodID{60, 60}
	basicGet          = methodID{60, 70}
	basicGetOk        = methodID{60, 71}
	basicGetEmpty     = methodID{60, 72}
	basicAck          = methodID{60, 80}
	basicReject       = methodID{60, 90}
	basicRecoverAsync = methodID{60, 100}
	basicRecover      = methodID{60, 110}
	basicRecoverOk    = methodID{60, 111}
	basicNack         = methodID{60, 120}

	confirmSelect   = methodID{85, 10}
	confirmSelectOk = methodID{85, 11}
)

// methodNames spell methods the way RabbitMQ's error texts do.
var methodNames = map[methodID]string{
	connectionStartOk: "connection.start_ok", connectionTuneOk: "connection.tune_ok",
	connectionOpen: "connection.open", connectionClose: "connection.close",
	connectionCloseOk: "connection.close_ok",
	channelOpen:       "channel.open", channelFlow: "channel.flow", channelClose: "channel.close",
	channelCloseOk:  "channel.close_ok",
	exchangeDeclare: "exchange.declare", exchangeDelete: "exchange.delete",
	exchangeBind: "exchange.bind", exchangeUnbind: "exchange.unbind",
	queueDeclare: "queue.declare", queueBind: "queue.bind", queuePurge: "queue.purge",
	queueDelete: "queue.delete", queueUnbind: "queue.unbind",
	basicQos: "basic.qos", basicConsume: "basic.consume", basicCancel: "basic.cancel",
	basicPublish: "basic.publish", basicGet: "basic.get", basicAck: "basic.ack",
	basicReject: "basic.reject", basicRecoverAsync: "basic.recover_async",
	basicRecover: "basic.recover", basicNack: "basic.nack",
	confirmSelect: "confirm.select",
}

func (m methodID) String() string {
	if n, ok := methodNames[m]; ok {
		return n
	}
	return fmt.Sprintf("method %d.%d", m.class, m.method)
}
