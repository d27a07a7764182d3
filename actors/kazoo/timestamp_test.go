package kazoo

import (
	"testing"
	"time"
)

func TestStampTime_ReadsKazoosMicrosecondsAndTheSpecsSeconds(t *testing.T) {
	published := time.Date(2026, 12, 7, 4, 30, 0, 123456000, time.UTC)
	kazooStamp := published.UnixMicro() + 62167219200*1_000_000 // kz_time:now_us()
	for _, tt := range []struct {
		name        string
		given, want time.Time
	}{
		// amqp091 reads the 64-bit property as seconds: time.Unix(v, 0).
		{name: "a Kazoo peer's kz_time:now_us()", given: time.Unix(kazooStamp, 0), want: published},
		{name: "seconds since 1970", given: time.Unix(published.Unix(), 0), want: time.Unix(published.Unix(), 0)},
		{name: "no timestamp", given: time.Time{}, want: time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := StampTime(tt.given); !got.Equal(tt.want) {
				t.Fatalf("StampTime(%v) = %v, want %v", tt.given, got, tt.want)
			}
		})
	}
}
