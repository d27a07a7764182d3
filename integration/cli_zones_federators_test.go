package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/supervisor"
)

// Issue 24, point 4: the federators of `warren listen --federate` run in
// its own process, so `warren zones` against `warren run` showed the other
// zone "0/0 consuming" while they consumed there. The command now serves
// its own admin API and prints where: `warren zones --admin ADDR`, with
// the built binary, shows the other zone's federator consuming. The two
// zones are one shared node reached by two names (127.0.0.1, localhost):
// two broker ids, one RabbitMQ.
func TestCLI_ListenFederatorsShowInWarrenZones(t *testing.T) {
	b := SharedBroker(t)
	bin := warrenCLI(t)
	local := b.URI()
	east := strings.Replace(local, "@127.0.0.1:", "@localhost:", 1)
	ini := "[zone]\nname = local\namqp_uri = \"" + local + "\"\n\n[zone]\nname = east\namqp_uri = \"" + east + "\"\n"
	config := filepath.Join(t.TempDir(), "config.ini")
	if err := os.WriteFile(config, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exchange := strings.ReplaceAll(t.Name(), "/", "-")
	listen := exec.CommandContext(ctx, bin, "listen", "--config", config, "--zone", "local", "--federate",
		"--exchange", exchange, "--type", "topic")
	stderr, err := listen.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = listen.Process.Signal(os.Interrupt)
		_ = listen.Wait()
	}()
	addrs := make(chan string, 1)
	var (
		mu   sync.Mutex
		said strings.Builder // what it printed on stderr
	)
	go func() {
		re := regexp.MustCompile(`its federators: warren zones --admin (\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			said.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- m[1]
			}
		}
	}()
	addr := testkit.Recv(t, addrs, 20*time.Second, "warren listen saying where its federators show")
	var rows []supervisor.AdminZoneRow
	testkit.Poll(t, 10*time.Second, "warren zones showing east's federator consuming", func() bool {
		out, err := exec.Command(bin, "zones", "--admin", addr, "--json").Output()
		if err != nil || json.Unmarshal(out, &rows) != nil {
			return false
		}
		for _, z := range rows {
			if z.Name == "east" && z.Federators == 1 && z.Consuming == 1 {
				return true
			}
		}
		return false
	})
	out, err := exec.Command(bin, "zones", "--admin", addr).Output()
	if err != nil || !regexp.MustCompile(`(?m)^east\s.*1/1 consuming`).Match(out) {
		t.Fatalf("warren zones (%v):\n%s", err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(said.String(), "guest:guest") {
		t.Fatal("the password reached stderr")
	}
}
