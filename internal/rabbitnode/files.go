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
func (n *Node) layout() error {
	for _, d := range []string{homeDir, confDDir, mnesiaDir, logDir} {
		if err := os.MkdirAll(n.path(d), 0o700); err != nil {
			return err
		}
	}
	// Erlang insists the cookie is readable by its owner only.
	cookie := n.opts.cookie
	if cookie == "" {
		cookie = strings.ToUpper(randomHex(10))
	}
	if err := os.WriteFile(n.path(homeDir, ".erlang.cookie"), []byte(cookie), 0o400); err != nil {
		return err
	}
	if err := os.WriteFile(n.path(envConfFile), nil, 0o600); err != nil {
		return err
	}
	plugins := "[" + strings.Join(n.opts.plugins, ",") + "]."
	if err := os.WriteFile(n.path(enabledPlugins), []byte(plugins+"\n"), 0o600); err != nil {
		return err
	}
	n.pluginsDir = ""
	if len(n.opts.plugins) == 0 && n.install.plugins != "" {
		if err := linkCoreApps(n.install.plugins, n.path(pluginsDir)); err == nil {
			n.pluginsDir = n.path(pluginsDir)
		}
		// else: the node scans the release's full plugins directory, only slower.
	}
	return nil
}

// writeConfig (re)writes rabbitmq.conf for the current ports.
func (n *Node) writeConfig() error {
	var c strings.Builder
	fmt.Fprintf(&c, "# written by github.com/warrenmq/warren/internal/rabbitnode for %s\n", n.Name)
	fmt.Fprintf(&c, "listeners.tcp.default = 127.0.0.1:%d\n", n.Port)
	c.WriteString("loopback_users = none\n")
	c.WriteString("log.console = false\n") // the file log is enough; stdout keeps early boot errors
	if t := n.opts.tls; t != nil {
		fmt.Fprintf(&c, "listeners.ssl.default = 127.0.0.1:%d\n", n.TLSPort)
		fmt.Fprintf(&c, "ssl_options.cacertfile = %s\n", t.CACert)
		fmt.Fprintf(&c, "ssl_options.certfile = %s\n", t.ServerCert)
		fmt.Fprintf(&c, "ssl_options.keyfile = %s\n", t.ServerKey)
		c.WriteString("ssl_options.verify = verify_peer\n")
		c.WriteString("ssl_options.fail_if_no_peer_cert = false\n")
	}
	for _, l := range n.opts.config {
		c.WriteString(l + "\n")
	}
	return os.WriteFile(n.path(configFile), []byte(c.String()), 0o600)
}

// nodeEnv is the environment of rabbitmq-server: the caller's, minus anything that could point
// the node at the system broker's files or name.
func (n *Node) nodeEnv() []string {
	env := append(n.baseEnv(),
		"RABBITMQ_NODENAME="+n.Name,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		fmt.Sprintf("RABBITMQ_NODE_PORT=%d", n.Port),
		fmt.Sprintf("RABBITMQ_DIST_PORT=%d", n.DistPort),
		"RABBITMQ_MNESIA_BASE="+n.path(mnesiaDir),
		"RABBITMQ_LOG_BASE="+n.path(logDir),
		"RABBITMQ_CONFIG_FILE="+n.path(configFile),
		"RABBITMQ_CONFIG_FILES="+n.path(confDDir),
		"RABBITMQ_ADVANCED_CONFIG_FILE="+n.path(advancedFile),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+n.path(enabledPlugins),
		"RABBITMQ_PID_FILE="+n.path(pidFile),
		// Distribution listens on 127.0.0.1 only, like the system broker's.
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
	)
	if n.pluginsDir != "" {
		env = append(env, "RABBITMQ_PLUGINS_DIR="+n.pluginsDir)
	}
	return env
}

// baseEnv is the environment shared by the node and rabbitmqctl: the same HOME (so the same
// cookie) and the same, empty, env file.
func (n *Node) baseEnv() []string {
	return append(cleanEnv(), "HOME="+n.path(homeDir), "RABBITMQ_CONF_ENV_FILE="+n.path(envConfFile))
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

func (n *Node) path(elem ...string) string {
	return filepath.Join(append([]string{n.Dir}, elem...)...)
}
