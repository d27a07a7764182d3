package rabbitnode

import "testing"

func TestFreePort_NeverRepeatsOrPicksReservedPorts(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] || ReservedPort(p) {
			t.Fatalf("FreePort() = %d: repeated or reserved", p)
		}
		seen[p] = true
	}
}

func TestReservedPort_CoversTheSystemBroker(t *testing.T) {
	for _, p := range []int{4369, 5671, 5672, 15672, 25672, 35672, 35682} {
		if !ReservedPort(p) {
			t.Errorf("ReservedPort(%d) = false, want true", p)
		}
	}
	for _, p := range []int{10000, 35671, 35683} {
		if ReservedPort(p) {
			t.Errorf("ReservedPort(%d) = true, want false", p)
		}
	}
}
