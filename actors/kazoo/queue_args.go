package kazoo

// QueueArgs returns the arguments Kazoo puts on every queue it declares
// (kz_amqp_util.erl): x-max-length 100 as an AMQP short and
// x-message-ttl 60000 ms as a signed int. A Go service that declares one of
// Kazoo's own queues (registrar_listener, say) must pass exactly these, with
// these types: RabbitMQ compares argument types and answers 406
// PRECONDITION_FAILED otherwise. Warren itself adds no arguments to its
// queues by default, since these drop messages silently under load.
func QueueArgs() map[string]any {
	return map[string]any{"x-max-length": int16(100), "x-message-ttl": int32(60000)}
}
