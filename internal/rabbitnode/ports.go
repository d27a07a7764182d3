package rabbitnode

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// handedOut remembers the ports given to nodes of this process, so that two nodes never get
// the same port even after the first one stopped listening on it.
var handedOut struct {
	sync.Mutex
	ports map[int]bool // guarded by the mutex
}

// ReservedPort reports ports the package never hands out: the system broker (AMQP, AMQPS,
// management, distribution), epmd, and 35672-35682 where rabbitmqctl listens for its own
// Erlang distribution.
func ReservedPort(p int) bool {
	switch p {
	case 4369, 5671, 5672, 15672, 25672:
		return true
	}
	return p >= 35672 && p <= 35682
}

// FreePort returns a port that is free on 127.0.0.1 now and was never handed out before.
// It prefers ports below the kernel's ephemeral range, which outgoing connections never take, so
// a node can be restarted on its port without racing the kernel.
func FreePort() (int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	low := ephemeralLow()
	for range 200 {
		p, err := candidatePort(low)
		if err != nil {
			return 0, err
		}
		if p == 0 || ReservedPort(p) || handedOut.ports[p] || !bindable(p) {
			continue
		}
		handedOut.ports[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("rabbitnode: no free port on 127.0.0.1 after 200 tries")
}

// candidatePort picks a random port in [10000, low) if that range exists, else asks the kernel.
func candidatePort(low int) (int, error) {
	if low > 11000 {
		return 10000 + rand.IntN(low-10000), nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("rabbitnode: pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// bindable reports whether 127.0.0.1:p can be listened on right now.
func bindable(p int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// ephemeralLow is the first port of the kernel's ephemeral range; 0 if unknown.
func ephemeralLow() int {
	raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) != 2 {
		return 0
	}
	low, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return low
}
