package rabbitnode

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Layout of a node's directory (Broker.Dir):
//
//	home/.erlang.cookie   HOME of the node and of rabbitmqctl: their shared cookie
//	rabbitmq.conf         RABBITMQ_CONFIG_FILE
//	conf.d/               RABBITMQ_CONFIG_FILES, empty: keeps /etc/rabbitmq/conf.d out
//	rabbitmq-env.conf     RABBITMQ_CONF_ENV_FILE, empty: keeps /etc/rabbitmq/rabbitmq-env.conf out
//	enabled_plugins       RABBITMQ_ENABLED_PLUGINS_FILE
//	plugins/              RABBITMQ_PLUGINS_DIR, links to the apps rabbit needs (no WithPlugins)
//	mnesia/               RABBITMQ_MNESIA_BASE, the data that survives Kill and Start
//	log/                  RABBITMQ_LOG_BASE, the node's log is log/<name>.log
//	stdout.log            the node's stdout and stderr, appended on each start
//	pid                   RABBITMQ_PID_FILE
const (
	homeDir        = "home"
	configFile     = "rabbitmq.conf"
	confDDir       = "conf.d"
	envConfFile    = "rabbitmq-env.conf"
	advancedFile   = "advanced.config" // never written; keeps /etc/rabbitmq/advanced.config out
	enabledPlugins = "enabled_plugins"
	pluginsDir     = "plugins"
	mnesiaDir      = "mnesia"
	logDir         = "log"
	stdoutFile     = "stdout.log"
	pidFile        = "pid"
)

// newNodeName returns a node name unique to this run, e.g. "warren-it-3f2a9c1d@localhost".
func newNodeName() string {
	return "warren-it-" + randomHex(4) + "@localhost"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on Linux
	return fmt.Sprintf("%x", b)
}

// layout creates the node's directories and the files that never change: cookie, empty env
// file, enabled plugins and the plugins directory.
func (b *Node) layout() error {
	for _, d := range []string{homeDir, confDDir, mnesiaDir, logDir} {
		if err := os.MkdirAll(b.path(d), 0o700); err != nil {
			return err
		}
	}
	// Erlang insists the cookie is readable by its owner only.
	cookie := b.opts.cookie
	if cookie == "" {
		cookie = strings.ToUpper(randomHex(10))
	}
	if err := os.WriteFile(b.path(homeDir, ".erlang.cookie"), []byte(cookie), 0o400); err != nil {
		return err
	}
	if err := os.WriteFile(b.path(envConfFile), nil, 0o600); err != nil {
		return err
	}
	plugins := "[" + strings.Join(b.opts.plugins, ",") + "]."
	if err := os.WriteFile(b.path(enabledPlugins), []byte(plugins+"\n"), 0o600); err != nil {
		return err
	}
	b.pluginsDir = ""
	if len(b.opts.plugins) == 0 && b.install.plugins != "" {
		if err := linkCoreApps(b.install.plugins, b.path(pluginsDir)); err == nil {
			b.pluginsDir = b.path(pluginsDir)
		}
		// else: the node scans the release's full plugins directory, only slower.
	}
	return nil
}

// writeConfig (re)writes rabbitmq.conf for the current ports.
func (b *Node) writeConfig() error {
	var c strings.Builder
	fmt.Fprintf(&c, "# written by github.com/warrenmq/warren/internal/rabbitnode for %s\n", b.Name)
	fmt.Fprintf(&c, "listeners.tcp.default = 127.0.0.1:%d\n", b.Port)
	c.WriteString("loopback_users = none\n")
	c.WriteString("log.console = false\n") // the file log is enough; stdout keeps early boot errors
	if t := b.opts.tls; t != nil {
		fmt.Fprintf(&c, "listeners.ssl.default = 127.0.0.1:%d\n", b.TLSPort)
		fmt.Fprintf(&c, "ssl_options.cacertfile = %s\n", t.CACert)
		fmt.Fprintf(&c, "ssl_options.certfile = %s\n", t.ServerCert)
		fmt.Fprintf(&c, "ssl_options.keyfile = %s\n", t.ServerKey)
		c.WriteString("ssl_options.verify = verify_peer\n")
		c.WriteString("ssl_options.fail_if_no_peer_cert = false\n")
	}
	for _, l := range b.opts.config {
		c.WriteString(l + "\n")
	}
	return os.WriteFile(b.path(configFile), []byte(c.String()), 0o600)
}

// nodeEnv is the environment of rabbitmq-server: the caller's, minus anything that could point
// the node at the system broker's files or name.
func (b *Node) nodeEnv() []string {
	env := append(b.baseEnv(),
		"RABBITMQ_NODENAME="+b.Name,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		fmt.Sprintf("RABBITMQ_NODE_PORT=%d", b.Port),
		fmt.Sprintf("RABBITMQ_DIST_PORT=%d", b.DistPort),
		"RABBITMQ_MNESIA_BASE="+b.path(mnesiaDir),
		"RABBITMQ_LOG_BASE="+b.path(logDir),
		"RABBITMQ_CONFIG_FILE="+b.path(configFile),
		"RABBITMQ_CONFIG_FILES="+b.path(confDDir),
		"RABBITMQ_ADVANCED_CONFIG_FILE="+b.path(advancedFile),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+b.path(enabledPlugins),
		"RABBITMQ_PID_FILE="+b.path(pidFile),
		// Distribution listens on 127.0.0.1 only, like the system broker's.
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
	)
	if b.pluginsDir != "" {
		env = append(env, "RABBITMQ_PLUGINS_DIR="+b.pluginsDir)
	}
	return env
}

// baseEnv is the environment shared by the node and rabbitmqctl: the same HOME (so the same
// cookie) and the same, empty, env file.
func (b *Node) baseEnv() []string {
	return append(cleanEnv(), "HOME="+b.path(homeDir), "RABBITMQ_CONF_ENV_FILE="+b.path(envConfFile))
}

// cleanEnv is os.Environ without RABBITMQ_*, Erlang flags, HOME and systemd's NOTIFY_SOCKET.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "RABBITMQ_"),
			k == "HOME", k == "NOTIFY_SOCKET",
			k == "ERL_FLAGS", k == "ERL_AFLAGS", k == "ERL_ZFLAGS":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (b *Node) path(elem ...string) string {
	return filepath.Join(append([]string{b.Dir}, elem...)...)
}
