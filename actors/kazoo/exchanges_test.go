package kazoo

import "testing"

func TestStandardExchanges(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  string
	}{
		{name: "targeted is direct", given: ExchangeTargeted, want: KindDirect},
		{name: "callctl is direct", given: ExchangeCallctl, want: KindDirect},
		{name: "callevt is topic", given: ExchangeCallevt, want: KindTopic},
		{name: "callmgr is topic", given: ExchangeCallmgr, want: KindTopic},
		{name: "registrar is topic", given: ExchangeRegistrar, want: KindTopic},
		{name: "nodes is fanout", given: ExchangeNodes, want: KindFanout},
		{name: "presence is topic", given: ExchangePresence, want: KindTopic},
	}
	byName := map[string]Exchange{}
	for _, x := range StandardExchanges() {
		if _, dup := byName[x.Name]; dup {
			t.Fatalf("exchange %q listed twice", x.Name)
		}
		byName[x.Name] = x
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, ok := byName[tt.given]
			if !ok {
				t.Fatalf("exchange %q missing from StandardExchanges", tt.given)
			}
			if x.Kind != tt.want {
				t.Errorf("kind = %q, want %q", x.Kind, tt.want)
			}
		})
	}
}

func TestStandardExchanges_AreKazooDefaults(t *testing.T) {
	xs := StandardExchanges()
	if len(xs) != 17 {
		t.Fatalf("got %d exchanges, want the 17 of kz_amqp.hrl", len(xs))
	}
	for _, x := range xs {
		if x.Durable || x.AutoDelete || x.Internal || x.Args != nil {
			t.Errorf("%s: got %+v, want non-durable, non-auto-delete, not internal, no args", x.Name, x)
		}
	}
}

func TestStandardExchanges_ReturnsFreshCopy(t *testing.T) {
	a := StandardExchanges()
	a[0].Name, a[0].Durable = "changed", true
	if b := StandardExchanges(); b[0].Name != ExchangeTargeted || b[0].Durable {
		t.Fatalf("a caller's change leaked into the next call: %+v", b[0])
	}
}
