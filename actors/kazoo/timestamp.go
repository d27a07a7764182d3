package kazoo

import "time"

// gregorianMicros is the Unix epoch in microseconds since year 0 of the
// Gregorian calendar: Kazoo's kz_time:now_us() counts from there.
const gregorianMicros = 62167219200 * 1_000_000

// StampTime reads the AMQP timestamp of a delivery as the time it was
// published. The property holds seconds since 1970 (the AMQP spec; Warren
// and most clients), but a Kazoo publish holds kz_time:now_us() there,
// microseconds since year 0, which amqp091 reads as a date some 2 billion
// years ahead: such a value is converted. The zero time stays zero.
func StampTime(ts time.Time) time.Time {
	if s := ts.Unix(); s >= gregorianMicros {
		return time.UnixMicro(s - gregorianMicros)
	}
	return ts
}
