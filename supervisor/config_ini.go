package supervisor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/redact"
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
//	amqp_uri = "amqp://guest:guest@10.0.0.1:5672"   ; repeated, one per broker (a list [...] is refused)
//	[amqp]                       ; older single-zone form: uri = ... repeated
//	prefetch = 50                ; listeners' default prefetch (0: unlimited)
//	pool_threshold = 5           ; RPC negative-response threshold (neg_resp_threshold)
//	pool_server_confirms = false ; every publish of the publishers waits for its confirm
//	[kazoo_apps]                 ; the node section: zone = zone1 names the local zone
//	[warren]                     ; Warren's own settings (all optional):
//	zone, heartbeat, connection_timeout, channel_max, frame_max, backoff_first,
//	backoff_max, max_attempts, prechannels, bootstrap_timeout, publishers,
//	publish_buffer, publish_max_wait, publish_max_message_size, rpc_workers, node,
//	advertise (true; false keeps this node off the nodes exchange), advertise_period
//
// [amqp]'s three keys take Kazoo's defaults when absent (50, 5, false).
// Kazoo's [amqp] pool_size and pool_overflow are not read: a Warren RPC
// worker carries many calls at once, where a Kazoo worker carries one.
//
// The local zone comes from WARREN_ZONE, then KAZOO_ZONE, then [warren] zone,
// then [kazoo_apps] zone, then the only zone. WARREN_AMQP_URI overrides the
// brokers. Errors name the file, the section and the key (and the line of
// a line the INI parser cannot read); they never quote a line, mask every
// AMQP URI's password and clip long values. path must be a regular file
// of at most MaxConfigSize bytes: a FIFO or a device is refused, not read.
func LoadINI(path string) (Config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return Config{}, err
	}
	f, err := ini.LoadSources(ini.LoadOptions{AllowShadows: true, AllowNonUniqueSections: true, Insensitive: true}, data)
	if err != nil {
		return Config{}, &ConfigError{Source: path, Err: iniError(err, data)}
	}
	cfg := Config{Source: path}
	if cfg.Zones, err = zonesOf(f, path); err != nil {
		return Config{}, err
	}
	if f.HasSection("kazoo_apps") {
		cfg.LocalZone = unquote(f.Section("kazoo_apps").Key("zone").String())
	}
	if f.HasSection("amqp") {
		if err := applyAMQPSection(&cfg, f.Section("amqp"), path); err != nil {
			return Config{}, err
		}
	}
	if f.HasSection("warren") {
		if err := applyWarrenSection(&cfg, f.Section("warren"), path); err != nil {
			return Config{}, err
		}
	}
	if cfg.Pools, err = poolsOf(f, path); err != nil {
		return Config{}, err
	}
	applyEnv(&cfg, path)
	if len(cfg.Zones) == 0 {
		return Config{}, &ConfigError{Source: path, Section: "[zone]", Key: "amqp_uri", Err: fmt.Errorf("%w: add a [zone] section with name and amqp_uri, or set $%s", ErrNoBrokers, EnvURI)}
	}
	return cfg, nil
}

// zonesOf reads the zones of f: every [zone] section (Kazoo's multi-zone
// form), else [amqp]'s brokers as the one DefaultZone.
func zonesOf(f *ini.File, path string) ([]Zone, error) {
	var zones []Zone
	for _, sec := range f.Sections() {
		if sec.Name() != "zone" {
			continue
		}
		name := strings.TrimSpace(unquote(sec.Key("name").String()))
		if name == "" {
			name = strings.TrimSpace(unquote(sec.Key("zone").String()))
		}
		label := fmt.Sprintf("[zone] #%d", len(zones)+1)
		if name == "" {
			return nil, &ConfigError{Source: path, Section: label, Key: "name", Err: errors.New("missing: every [zone] needs a name")}
		}
		label += " (" + echo(name) + ")"
		brokers, err := sectionURIs(sec, path, label, "amqp_uri", "uri")
		if err != nil {
			return nil, err
		}
		if len(brokers) == 0 {
			return nil, &ConfigError{Source: path, Section: label, Key: "amqp_uri", Err: errors.New("missing: the zone lists no broker")}
		}
		zones = append(zones, Zone{Name: name, Brokers: brokers})
	}
	if len(zones) > 0 || !f.HasSection("amqp") {
		return zones, nil
	}
	brokers, err := sectionURIs(f.Section("amqp"), path, "[amqp]", "uri", "amqp_uri")
	if err != nil || len(brokers) == 0 {
		return nil, err
	}
	return []Zone{{Name: DefaultZone, Brokers: brokers}}, nil
}

// sectionURIs is every broker URI sec gives under keys, in order (a key
// may repeat); the first bad one is an error naming its key and number.
func sectionURIs(sec *ini.Section, path, label string, keys ...string) ([]string, error) {
	var uris []string
	for _, key := range keys {
		if !sec.HasKey(key) {
			continue
		}
		for _, v := range sec.Key(key).ValueWithShadows() {
			if v = unquote(v); v == "" {
				continue
			}
			uris = append(uris, v)
			if listValued(v) {
				return nil, &ConfigError{Source: path, Section: label, Key: fmt.Sprintf("%s #%d", key, len(uris)), Err: fmt.Errorf(
					"a list of URIs is not read: write one %s = \"amqp://…\" line per broker, as Kazoo's config.ini does", key)}
			}
			if err := checkURI(v); err != nil {
				return nil, &ConfigError{Source: path, Section: label, Key: fmt.Sprintf("%s #%d", key, len(uris)), Err: err}
			}
		}
	}
	return uris, nil
}

// applyEnv lets the environment override the file: the local zone
// (WARREN_ZONE, KAZOO_ZONE), then the brokers (WARREN_AMQP_URI, as the
// local zone's only broker).
func applyEnv(cfg *Config, path string) {
	if z := firstEnv(EnvZone, envKazooZone); z != "" {
		cfg.LocalZone = z
	}
	uri := os.Getenv(EnvURI)
	if uri == "" {
		return
	}
	if cfg.LocalZone == "" {
		cfg.LocalZone = DefaultZone
	}
	cfg.Zones = []Zone{{Name: cfg.LocalZone, Brokers: []string{uri}}}
	cfg.Source = path + " (brokers from $" + EnvURI + ")"
}

// warrenKeys are the keys of Warren's own [warren] section: any other is
// a typo, reported rather than ignored.
var warrenKeys = []string{"zone", "node", "heartbeat", "connection_timeout", "backoff_first", "backoff_max",
	"bootstrap_timeout", "channel_max", "connections", "max_connections", "frame_max", "max_attempts", "prechannels", "publishers",
	"publish_buffer", "publish_max_wait", "publish_max_message_size", "rpc_workers", "advertise", "advertise_period"}

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
			return bad(key, fmt.Errorf("%q is not a duration (say 10s or 500ms)", echo(v)))
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
			return bad(key, fmt.Errorf("%q is not a whole number >= 0", echo(v)))
		}
		*dst = n
		return nil
	}
	for _, k := range sec.KeyStrings() {
		if !slices.Contains(warrenKeys, k) {
			return bad(echo(k), fmt.Errorf("unknown key; [warren] knows %s", strings.Join(warrenKeys, ", ")))
		}
	}
	if sec.HasKey("zone") {
		cfg.LocalZone = unquote(sec.Key("zone").String())
	}
	if sec.HasKey("node") {
		cfg.RPC.Node = unquote(sec.Key("node").String())
	}
	if sec.HasKey("advertise") {
		v := unquote(sec.Key("advertise").String())
		on, err := strconv.ParseBool(v)
		if err != nil {
			return bad("advertise", fmt.Errorf("%q is not true or false", echo(v)))
		}
		cfg.Nodes.Silent = !on
	}
	c := &cfg.Connection
	for _, err := range []error{
		dur("advertise_period", &cfg.Nodes.Period),
		dur("heartbeat", &c.Heartbeat), dur("connection_timeout", &c.ConnectionTimeout),
		dur("backoff_first", &c.Backoff.First), dur("backoff_max", &c.Backoff.Max),
		dur("bootstrap_timeout", &cfg.BootstrapTimeout),
		num("channel_max", &c.ChannelMax), num("frame_max", &c.FrameMax),
		num("max_attempts", &c.Backoff.MaxAttempts), num("prechannels", &cfg.Prechannels),
		num("connections", &cfg.Connections), num("max_connections", &cfg.MaxConnections),
		num("publishers", &cfg.Publish.Publishers), num("publish_buffer", &cfg.Publish.Buffer),
		dur("publish_max_wait", &cfg.Publish.MaxWait), num("publish_max_message_size", &cfg.Publish.MaxMessageSize), num("rpc_workers", &cfg.RPC.Workers),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// applyAMQPSection reads Kazoo's [amqp] pool and prefetch keys (its uri
// keys are zonesOf's). Other keys of Kazoo's [amqp] are left alone.
func applyAMQPSection(cfg *Config, sec *ini.Section, path string) error {
	bad := func(key string, err error) error {
		return &ConfigError{Source: path, Section: "[amqp]", Key: key, Err: err}
	}
	cfg.RPC.NegativeThreshold = rpc.DefaultNegativeThreshold // Kazoo's [amqp] pool_threshold when absent
	if sec.HasKey("prefetch") {
		v := unquote(sec.Key("prefetch").String())
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > math.MaxUint16 {
			return bad("prefetch", fmt.Errorf("%q is not a whole number from 0 (unlimited) to %d", echo(v), math.MaxUint16))
		}
		cfg.Prefetch = n
		if n == 0 { // basic.qos 0 is no limit; Config.Prefetch 0 would be the default
			cfg.Prefetch = -1
		}
	}
	if sec.HasKey("pool_threshold") {
		v := unquote(sec.Key("pool_threshold").String())
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return bad("pool_threshold", fmt.Errorf("%q is not a whole number >= 1", echo(v)))
		}
		cfg.RPC.NegativeThreshold = n
	}
	if sec.HasKey("pool_server_confirms") {
		v := unquote(sec.Key("pool_server_confirms").String())
		on, err := strconv.ParseBool(v)
		if err != nil {
			return bad("pool_server_confirms", fmt.Errorf("%q is not true or false", echo(v)))
		}
		cfg.Publish.ServerConfirms = on
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

// MaxConfigSize is the largest config file LoadINI reads (1 MiB): Kazoo's
// config.ini is a few KiB.
const MaxConfigSize = 1 << 20

// maxEcho is how much of a value an error quotes.
const maxEcho = 64

// echo is v as an error may quote it: passwords masked, then clipped (in
// that order, so that a clip never cuts a URI before its '@').
func echo(v string) string { return redact.Clip(redact.Text(v), maxEcho) }

// readConfigFile reads path, refusing what is not a regular file (a FIFO
// would block the open and the read, /dev/zero never ends) or is larger
// than MaxConfigSize. The open does not block on a FIFO (O_NONBLOCK).
func readConfigFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &ConfigError{Source: path, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &ConfigError{Source: path, Err: err}
	}
	if !st.Mode().IsRegular() {
		return nil, &ConfigError{Source: path, Err: fmt.Errorf("not a regular file (%s): give the path of a config.ini", fileKind(st.Mode()))}
	}
	if st.Size() > MaxConfigSize {
		return nil, &ConfigError{Source: path, Err: fmt.Errorf("%d bytes: a config file is at most %d", st.Size(), MaxConfigSize)}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, &ConfigError{Source: path, Err: err}
	}
	if len(data) > MaxConfigSize { // grew, or a file whose size Stat does not tell (/proc)
		return nil, &ConfigError{Source: path, Err: fmt.Errorf("more than %d bytes: a config file is at most that", MaxConfigSize)}
	}
	return data, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

// iniLineErrors are the ini.v1 errors that quote the line they refuse, and
// what each means.
var iniLineErrors = []struct{ prefix, says string }{
	{"key-value delimiter not found: ", "no '=' or ':' after the key"},
	{"empty key name: ", "empty key name"},
	{"unclosed section: ", "unclosed section: no ']'"},
	{"missing closing key quote: ", "unclosed quote around the key"},
	{"missing closing key quote from ", "unclosed quote around the value"},
}

// iniError says why ini.v1 refused data without quoting the line it names
// (which may hold a password): the line number instead.
func iniError(err error, data []byte) error {
	msg := err.Error()
	for _, le := range iniLineErrors {
		rest, ok := strings.CutPrefix(msg, le.prefix)
		if !ok {
			continue
		}
		if strings.HasPrefix(rest, `"`) { // from "line" to "next"
			if q, err := strconv.QuotedPrefix(rest); err == nil {
				rest, _ = strconv.Unquote(q)
			}
		}
		if n := lineOf(data, rest); n > 0 {
			return fmt.Errorf("line %d is not valid INI: %s (the line is not shown: it may hold a password)", n, le.says)
		}
		return fmt.Errorf("not a valid INI file: %s (the line is not shown: it may hold a password)", le.says)
	}
	return fmt.Errorf("not a valid INI file: %s", redact.Clip(redact.Text(msg), maxEcho*2))
}

// lineOf returns the 1-based number of the first line of data that reads
// as line once trimmed, or 0.
func lineOf(data []byte, line string) int {
	want := strings.TrimSpace(line)
	if want == "" {
		return 0
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == want {
			return i + 1
		}
	}
	return 0
}

// listValued reports whether v holds several URIs or a list ([…], or
// comma-separated): Kazoo's config.ini repeats the key instead.
func listValued(v string) bool {
	return strings.HasPrefix(v, "[") || strings.Count(v, "://") > 1
}

// checkURI refuses a broker URI that Warren would not dial, at load time:
// the error names the URI's place in the file and never its password.
func checkURI(v string) error {
	_, err := actors.BrokerID(v)
	return err
}
