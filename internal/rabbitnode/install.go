package rabbitnode

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// EnvRabbitMQBin names the environment variable that points the package at a directory holding
// rabbitmq-server and rabbitmqctl. Defaults to /usr/lib/rabbitmq/bin, then the first
// rabbitmq-server on PATH.
const EnvRabbitMQBin = "WARREN_IT_RABBITMQ_BIN"

// debianBin holds the real scripts on Debian; /usr/sbin/rabbitmq-server is a wrapper that su's
// to the rabbitmq user and sends output to /var/log/rabbitmq.
const debianBin = "/usr/lib/rabbitmq/bin"

// installHint is the fix named by every "RabbitMQ not found" failure.
const installHint = "run .ci/install-deps or apt-get install rabbitmq-server"

// ErrNoRabbitMQ is returned by New and Start when no usable RabbitMQ installation is found.
var ErrNoRabbitMQ = errors.New("rabbitnode: RabbitMQ not found: " + installHint)

// rabbitInstall is a RabbitMQ installation the package runs directly, as the current user.
type rabbitInstall struct {
	server  string // rabbitmq-server, runs the node in the foreground
	ctl     string // rabbitmqctl
	plugins string // the release's plugins directory; "" if not found
}

var (
	installOnce sync.Once
	installed   rabbitInstall
	installErr  error
)

// findRabbitMQ locates RabbitMQ once per process.
func findRabbitMQ() (rabbitInstall, error) {
	installOnce.Do(func() { installed, installErr = locateRabbitMQ(os.Getenv(EnvRabbitMQBin)) })
	return installed, installErr
}

// locateRabbitMQ looks in override if set, else in debianBin and on PATH.
func locateRabbitMQ(override string) (rabbitInstall, error) {
	if _, err := exec.LookPath("erl"); err != nil {
		return rabbitInstall{}, fmt.Errorf("%w (erl, the Erlang runtime, is not on PATH)", ErrNoRabbitMQ)
	}
	if override != "" {
		inst, err := installIn(override)
		if err != nil {
			return rabbitInstall{}, fmt.Errorf("%w (%s=%s: %v)", ErrNoRabbitMQ, EnvRabbitMQBin, override, err)
		}
		return inst, nil
	}
	if inst, err := installIn(debianBin); err == nil {
		return inst, nil
	}
	if p, err := exec.LookPath("rabbitmq-server"); err == nil {
		// Skip wrappers such as Debian's rabbitmq-script-wrapper: the real script keeps its name.
		if real, err := filepath.EvalSymlinks(p); err == nil && filepath.Base(real) == "rabbitmq-server" {
			if inst, err := installIn(filepath.Dir(p)); err == nil {
				return inst, nil
			}
		}
	}
	return rabbitInstall{}, fmt.Errorf("%w (looked in %s and for rabbitmq-server on PATH)", ErrNoRabbitMQ, debianBin)
}

// installIn checks that dir holds executable rabbitmq-server and rabbitmqctl scripts.
func installIn(dir string) (rabbitInstall, error) {
	inst := rabbitInstall{server: filepath.Join(dir, "rabbitmq-server"), ctl: filepath.Join(dir, "rabbitmqctl")}
	for _, p := range []string{inst.server, inst.ctl} {
		fi, err := os.Stat(p)
		if err != nil {
			return rabbitInstall{}, err
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return rabbitInstall{}, fmt.Errorf("%s is not executable", p)
		}
	}
	// sbin/rabbitmq-server -> <release>/plugins
	if real, err := filepath.EvalSymlinks(inst.server); err == nil {
		plugins := filepath.Join(filepath.Dir(filepath.Dir(real)), "plugins")
		if fi, err := os.Stat(plugins); err == nil && fi.IsDir() {
			inst.plugins = plugins
		}
	}
	return inst, nil
}
