package kazoo

import "testing"

func TestQueueArgs_KazooTypes(t *testing.T) {
	a := QueueArgs()
	if v, ok := a["x-max-length"].(int16); !ok || v != 100 {
		t.Fatalf("x-max-length = %#v, want int16(100) (AMQP short)", a["x-max-length"])
	}
	if v, ok := a["x-message-ttl"].(int32); !ok || v != 60000 {
		t.Fatalf("x-message-ttl = %#v, want int32(60000) (AMQP signed int)", a["x-message-ttl"])
	}
	a["x"] = 1
	if _, ok := QueueArgs()["x"]; ok {
		t.Fatal("QueueArgs shares its map")
	}
}
