package supervisor

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/ini.v1"
)

// Environment variables read by LoadINI.
const (
	// EnvURI, when set, replaces every configured broker with this one URI in
	// the local zone (a one-broker setup without editing config.ini).
	EnvURI = "WARREN_AMQP_URI"
	// EnvZone sets the local zone, like Kazoo's KAZOO_ZONE (also read).
	EnvZone      = "WARREN_ZONE"
	envKazooZone = "KAZOO_ZONE"
)

// LoadINI reads Kazoo's config.ini:
//
//	[zone]                       ; repeated, one per zone
//	name = zone1
//	amqp_uri = "amqp://guest:guest@10.0.0.1:5672"   ; repeated, one per broker
//	[amqp]                       ; older single-zone form: uri = ... repeated
//	[kazoo_apps]                 ; the node section: zone = zone1 names the local zone
//	[warren]                     ; Warren's own settings (all optional):
//	zone, heartbeat, connection_timeout, channel_max, frame_max, backoff_first,
//	backoff_max, max_attempts, prechannels, bootstrap_timeout, publishers,
//	publish_buffer, publish_max_wait, publish_max_message_size, rpc_workers, node
//
// Kazoo's [amqp] pool_size is not read: a Warren RPC worker carries many
// calls at once, where a Kazoo worker carries one.
//
// The local zone comes from WARREN_ZONE, then KAZOO_ZONE, then [warren] zone,
// then [kazoo_apps] zone, then the only zone. WARREN_AMQP_URI overrides the
// brokers. Errors name the file, the section and the key.
func LoadINI(path string) (Config, error) {
	f, err := ini.LoadSources(ini.LoadOptions{AllowShadows: true, AllowNonUniqueSections: true, Insensitive: true}, path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return Config{}, &ConfigError{Source: path, Err: pe.Err}
		}
		return Config{}, &ConfigError{Source: path, Err: fmt.Errorf("not a valid INI file: %v", err)}
	}
	cfg := Config{Source: path}
	for i, sec := range f.Sections() {
		if sec.Name() != "zone" {
			continue
		}
		_ = i
		name := strings.TrimSpace(unquote(sec.Key("name").String()))
		if name == "" {
			name = strings.TrimSpace(unquote(sec.Key("zone").String()))
		}
		label := fmt.Sprintf("[zone] #%d", len(cfg.Zones)+1)
		if name == "" {
			return Config{}, &ConfigError{Source: path, Section: label, Key: "name", Err: errors.New("missing: every [zone] needs a name")}
		}
		z := Zone{Name: name}
		for _, key := range []string{"amqp_uri", "uri"} {
			if sec.HasKey(key) {
				for _, v := range sec.Key(key).ValueWithShadows() {
					if v = unquote(v); v != "" {
						z.Brokers = append(z.Brokers, v)
					}
				}
			}
		}
		if len(z.Brokers) == 0 {
			return Config{}, &ConfigError{Source: path, Section: label + " (" + name + ")", Key: "amqp_uri", Err: errors.New("missing: the zone lists no broker")}
		}
		cfg.Zones = append(cfg.Zones, z)
	}
	if len(cfg.Zones) == 0 && f.HasSection("amqp") {
		sec := f.Section("amqp")
		z := Zone{Name: DefaultZone}
		for _, key := range []string{"uri", "amqp_uri"} {
			if sec.HasKey(key) {
				for _, v := range sec.Key(key).ValueWithShadows() {
					if v = unquote(v); v != "" {
						z.Brokers = append(z.Brokers, v)
					}
				}
			}
		}
		if len(z.Brokers) > 0 {
			cfg.Zones = append(cfg.Zones, z)
		}
	}
	if f.HasSection("kazoo_apps") {
		cfg.LocalZone = unquote(f.Section("kazoo_apps").Key("zone").String())
	}
	if f.HasSection("warren") {
		if err := applyWarrenSection(&cfg, f.Section("warren"), path); err != nil {
			return Config{}, err
		}
	}
	if z := firstEnv(EnvZone, envKazooZone); z != "" {
		cfg.LocalZone = z
	}
	if uri := os.Getenv(EnvURI); uri != "" {
		zone := cfg.LocalZone
		if zone == "" {
			zone = DefaultZone
		}
		cfg.LocalZone = zone
		cfg.Zones = []Zone{{Name: zone, Brokers: []string{uri}}}
		cfg.Source = path + " (brokers from $" + EnvURI + ")"
	}
	if len(cfg.Zones) == 0 {
		return Config{}, &ConfigError{Source: path, Section: "[zone]", Key: "amqp_uri", Err: fmt.Errorf("%w: add a [zone] section with name and amqp_uri, or set $%s", ErrNoBrokers, EnvURI)}
	}
	return cfg, nil
}

// warrenKeys are the keys of Warren's own [warren] section: any other is
// a typo, reported rather than ignored.
var warrenKeys = []string{"zone", "node", "heartbeat", "connection_timeout", "backoff_first", "backoff_max",
	"bootstrap_timeout", "channel_max", "frame_max", "max_attempts", "prechannels", "publishers",
	"publish_buffer", "publish_max_wait", "publish_max_message_size", "rpc_workers"}

func applyWarrenSection(cfg *Config, sec *ini.Section, path string) error {
	bad := func(key string, err error) error {
		return &ConfigError{Source: path, Section: "[warren]", Key: key, Err: err}
	}
	dur := func(key string, dst *time.Duration) error {
		if !sec.HasKey(key) {
			return nil
		}
		v := unquote(sec.Key(key).String())
		d, err := parseDuration(v)
		if err != nil {
			return bad(key, fmt.Errorf("%q is not a duration (say 10s or 500ms)", v))
		}
		*dst = d
		return nil
	}
	num := func(key string, dst *int) error {
		if !sec.HasKey(key) {
			return nil
		}
		v := unquote(sec.Key(key).String())
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return bad(key, fmt.Errorf("%q is not a whole number >= 0", v))
		}
		*dst = n
		return nil
	}
	for _, k := range sec.KeyStrings() {
		if !slices.Contains(warrenKeys, k) {
			return bad(k, fmt.Errorf("unknown key; [warren] knows %s", strings.Join(warrenKeys, ", ")))
		}
	}
	if sec.HasKey("zone") {
		cfg.LocalZone = unquote(sec.Key("zone").String())
	}
	if sec.HasKey("node") {
		cfg.RPC.Node = unquote(sec.Key("node").String())
	}
	c := &cfg.Connection
	for _, err := range []error{
		dur("heartbeat", &c.Heartbeat), dur("connection_timeout", &c.ConnectionTimeout),
		dur("backoff_first", &c.Backoff.First), dur("backoff_max", &c.Backoff.Max),
		dur("bootstrap_timeout", &cfg.BootstrapTimeout),
		num("channel_max", &c.ChannelMax), num("frame_max", &c.FrameMax),
		num("max_attempts", &c.Backoff.MaxAttempts), num("prechannels", &cfg.Prechannels),
		num("publishers", &cfg.Publish.Publishers), num("publish_buffer", &cfg.Publish.Buffer),
		dur("publish_max_wait", &cfg.Publish.MaxWait), num("publish_max_message_size", &cfg.Publish.MaxMessageSize), num("rpc_workers", &cfg.RPC.Workers),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// parseDuration accepts Go durations and bare integers as seconds.
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		v = v[1 : len(v)-1]
	}
	return v
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}
