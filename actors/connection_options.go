package actors

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Connection defaults. Heartbeat follows amqp_client and Carrot (10s);
// Kazoo forces a 500ms connection timeout, which is too tight for TLS over
// a WAN, so Warren uses 5s.
const (
	DefaultHeartbeat         = 10 * time.Second
	DefaultConnectionTimeout = 5 * time.Second
	DefaultPrechannels       = 10
)

// ConnectionOptions are the settings of one broker connection: every option
// of Carrot's connection manager. URL, when set, is the broker's identity:
// its own parts (host, port, credentials, vhost, and the query parameters
// heartbeat, channel_max, connection_timeout, cacertfile, certfile, keyfile,
// server_name_indication) win over the fields below, which fill in what the
// URL does not say.
type ConnectionOptions struct {
	URL string // amqp:// or amqps:// URI (Kazoo's amqp_uri)

	Username    string // defaults to "guest"
	Password    string // defaults to "guest"
	VirtualHost string // defaults to "/"
	Host        string // defaults to "localhost"
	Port        int    // defaults to 5672, or 5671 with TLS
	TLS         bool   // use amqps when URL is empty

	ChannelMax        int           // channel_max handshake value; 0 negotiates (RabbitMQ offers 2047)
	FrameMax          int           // frame_max handshake value; 0 negotiates (128 KiB)
	Heartbeat         time.Duration // heartbeat interval; defaults to DefaultHeartbeat, negative disables
	ConnectionTimeout time.Duration // TCP + TLS + AMQP handshake deadline; defaults to DefaultConnectionTimeout
	Backoff           Backoff       // reconnect delays

	// TLS options (Carrot's ssl_options). TLSConfig, when set, is used as is
	// (cloned per dial); otherwise the files below build one.
	TLSConfig          *tls.Config
	CACertFile         string
	CertFile           string
	KeyFile            string
	ServerName         string
	InsecureSkipVerify bool

	ClientProperties map[string]any // extra client properties sent to the server
	ConnectionName   string         // shown by rabbitmqctl list_connections client_properties
	Socket           SocketOptions
}

// SocketOptions are the TCP options of the connection (Carrot's socket_options).
type SocketOptions struct {
	KeepAlive   time.Duration // TCP keep-alive period; 0 uses Go's default, negative disables
	NoDelay     *bool         // TCP_NODELAY; defaults to true (Go's default)
	ReadBuffer  int           // SO_RCVBUF bytes; 0 keeps the OS default
	WriteBuffer int           // SO_SNDBUF bytes; 0 keeps the OS default
}

// dialPlan is what a connection actor needs to dial: the URI string (with
// password, never logged) and the amqp091 configuration.
type dialPlan struct {
	uri    string
	config amqp.Config
}

// plan validates the options and turns them into a dialPlan.
func (o ConnectionOptions) plan() (dialPlan, error) {
	uri, err := o.uri()
	if err != nil {
		return dialPlan{}, err
	}
	parsed, err := ParseBrokerURI(uri)
	if err != nil {
		return dialPlan{}, err
	}
	if o.ChannelMax < 0 || o.ChannelMax > 65535 {
		return dialPlan{}, fmt.Errorf("warren: channel_max %d: must be 0..65535", o.ChannelMax)
	}
	if o.FrameMax < 0 {
		return dialPlan{}, fmt.Errorf("warren: frame_max %d: must not be negative", o.FrameMax)
	}
	timeout := o.ConnectionTimeout
	if parsed.ConnectionTimeout > 0 {
		timeout = time.Duration(parsed.ConnectionTimeout) * time.Millisecond
	}
	if timeout <= 0 {
		timeout = DefaultConnectionTimeout
	}
	props := amqp.NewConnectionProperties()
	for k, v := range o.ClientProperties {
		props[k] = v
	}
	name := o.ConnectionName
	if name == "" {
		name = "warren"
	}
	props.SetClientConnectionName(name)
	cfg := amqp.Config{
		ChannelMax: uint16(o.ChannelMax),
		FrameSize:  o.FrameMax,
		Heartbeat:  o.Heartbeat,
		Properties: props,
		Dial:       o.Socket.dialer(timeout),
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	} else if cfg.Heartbeat < 0 {
		cfg.Heartbeat = 0
	}
	if parsed.Scheme == "amqps" {
		tc, err := o.tlsConfig(parsed)
		if err != nil {
			return dialPlan{}, err
		}
		cfg.TLSClientConfig = tc
	}
	return dialPlan{uri: uri, config: cfg}, nil
}

func (o ConnectionOptions) uri() (string, error) {
	if o.URL != "" {
		u := strings.TrimSpace(o.URL)
		if strings.HasPrefix(u, "kazoo://") { // Kamailio's alias
			u = "amqp://" + strings.TrimPrefix(u, "kazoo://")
		}
		return u, nil
	}
	u := url.URL{Scheme: "amqp", Host: o.Host}
	if o.TLS {
		u.Scheme = "amqps"
	}
	if u.Host == "" {
		u.Host = "localhost"
	}
	if o.Port == 0 && strings.Contains(u.Host, ":") && !strings.HasPrefix(u.Host, "[") {
		u.Host = "[" + u.Host + "]" // an IPv6 address
	}
	if o.Port != 0 {
		if o.Port < 0 || o.Port > 65535 {
			return "", fmt.Errorf("warren: port %d: must be 1..65535", o.Port)
		}
		u.Host = net.JoinHostPort(u.Host, strconv.Itoa(o.Port))
	}
	user, pass := o.Username, o.Password
	if user == "" {
		user = "guest"
	}
	if pass == "" && o.Username == "" {
		pass = "guest"
	}
	u.User = url.UserPassword(user, pass)
	vhost := o.VirtualHost
	if vhost == "" {
		vhost = "/"
	}
	// '@' escaped too: ParseBrokerURI refuses a raw '@' after the host.
	u.Path, u.RawPath = "/"+vhost, "/"+strings.ReplaceAll(url.PathEscape(vhost), "@", "%40")
	return u.String(), nil
}

func (o ConnectionOptions) tlsConfig(parsed amqp.URI) (*tls.Config, error) {
	if o.TLSConfig != nil {
		return o.TLSConfig.Clone(), nil
	}
	ca, cert, key, sni := o.CACertFile, o.CertFile, o.KeyFile, o.ServerName
	if parsed.CACertFile != "" {
		ca = parsed.CACertFile
	}
	if parsed.CertFile != "" {
		cert = parsed.CertFile
	}
	if parsed.KeyFile != "" {
		key = parsed.KeyFile
	}
	if parsed.ServerName != "" {
		sni = parsed.ServerName
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: sni, InsecureSkipVerify: o.InsecureSkipVerify}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("warren: TLS cacertfile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("warren: TLS cacertfile %s: no PEM certificate in it", ca)
		}
		tc.RootCAs = pool
	}
	if (cert == "") != (key == "") {
		return nil, errors.New("warren: TLS: certfile and keyfile go together")
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("warren: TLS client certificate %s: %w", cert, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// dialer returns an amqp091 Dial function that applies the socket options and
// one deadline to the TCP connect, the TLS handshake and the AMQP handshake
// (amqp091 clears it once the connection is open).
func (s SocketOptions) dialer(timeout time.Duration) func(network, addr string) (net.Conn, error) {
	return func(network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: timeout, KeepAlive: s.KeepAlive}
		conn, err := d.Dial(network, addr)
		if err != nil {
			return nil, err
		}
		if tcp, ok := conn.(*net.TCPConn); ok {
			if s.NoDelay != nil {
				_ = tcp.SetNoDelay(*s.NoDelay)
			}
			if s.ReadBuffer > 0 {
				_ = tcp.SetReadBuffer(s.ReadBuffer)
			}
			if s.WriteBuffer > 0 {
				_ = tcp.SetWriteBuffer(s.WriteBuffer)
			}
		}
		if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
}
