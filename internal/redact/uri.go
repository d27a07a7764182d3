package redact

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// MaxURILen is the longest AMQP URI [ParseURI] accepts, in bytes. A longer
// one is refused rather than parsed, logged or echoed.
const MaxURILen = 4096

// URIParts is an AMQP URI split by [ParseURI]. Every part is decoded.
type URIParts struct {
	Scheme      string // "amqp" or "amqps", lower case
	HasUser     bool   // the URI has userinfo ("user@" or "user:password@")
	User        string // "" when !HasUser
	HasPassword bool   // the userinfo has a ':'
	Password    string // "" when !HasPassword; never print it
	Host        string // without IPv6 brackets; never empty
	Port        int    // 0 when the URI names none
	Vhost       string // as amqp091-go reads it: "/" when the path is empty or "/"
	RawQuery    string // after '?', undecoded ("" when none)

	raw        string // the trimmed input
	pass, user [2]int // byte ranges of the raw password and user name in raw
}

// ParseURI splits an AMQP URI the one way Warren reads it, stricter than
// net/url and amqp091-go so that no password can be taken for a host, a
// port or a vhost:
//
//   - surrounding whitespace is trimmed; any other whitespace, control or
//     non-ASCII byte, and a URI longer than [MaxURILen], is refused;
//   - the scheme is amqp or amqps, followed by "//" ("amqp:/host" and
//     "amqp//host" are refused);
//   - the authority (userinfo and host) ends at the first '/', '?' or '#';
//     a '@' after it is refused, so a '/', '?' or '#' in a password (which
//     would move it into the host, the path or the fragment) must be
//     percent-encoded, as must a '@' in a vhost;
//   - userinfo, when present, has a non-empty user name; user name and
//     password hold only the characters RFC 3986 allows there;
//   - the host is not empty and holds letters, digits, '-', '.', '_', '~'
//     (and ':' inside IPv6 brackets); a port, when given, is 1-65535;
//   - no fragment.
//
// Its error never quotes the input: it says which rule failed.
func ParseURI(uri string) (URIParts, error) {
	s := strings.TrimSpace(uri)
	var p URIParts
	if len(s) > MaxURILen {
		return p, errors.New("longer than " + strconv.Itoa(MaxURILen) + " bytes")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return p, errors.New("whitespace, a control character or a non-ASCII byte inside the URI (percent-encode it)")
		}
	}
	scheme, err := parseScheme(s)
	if err != nil {
		return URIParts{}, err
	}
	p.Scheme = scheme
	start := len(scheme) + 3
	end := start + strings.IndexAny(s[start:], "/?#")
	if end < start {
		end = len(s)
	}
	authority, after := s[start:end], s[end:]
	if strings.Contains(after, "@") {
		return URIParts{}, errors.New(`'@' after the host: percent-encode '/', '?', '#' and '@' in a user name or password (%2F %3F %23 %40), and '@' in a vhost`)
	}
	if strings.Contains(after, "#") {
		return URIParts{}, errors.New("a fragment ('#') is not allowed: percent-encode it as %23")
	}
	hostport := authority
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		hostport = authority[at+1:]
		if err := p.parseUserinfo(authority[:at], start); err != nil {
			return URIParts{}, err
		}
	}
	host, port, err := splitHostPort(hostport)
	if err != nil {
		return URIParts{}, err
	}
	p.Host, p.Port = host, port
	p.RawQuery = ""
	if q := strings.IndexByte(after, '?'); q >= 0 {
		p.RawQuery = after[q+1:]
		if _, err := url.ParseQuery(p.RawQuery); err != nil {
			return URIParts{}, errors.New("bad query string")
		}
	}
	if err := p.agreeWithNetURL(s); err != nil {
		return URIParts{}, err
	}
	p.raw = s
	return p, nil
}

// parseScheme is s's scheme, lower case: amqp or amqps, followed by "//".
func parseScheme(s string) (string, error) {
	colon := strings.IndexByte(s, ':')
	if lower := strings.ToLower(s); strings.HasPrefix(lower, "amqp//") || strings.HasPrefix(lower, "amqps//") {
		return "", errors.New(`the scheme must end with "://": amqp://host or amqps://host`)
	}
	if colon < 0 {
		return "", errors.New("no scheme: the URI must start with amqp:// or amqps://")
	}
	scheme := strings.ToLower(s[:colon])
	if scheme != "amqp" && scheme != "amqps" {
		return "", errors.New("scheme must be amqp:// or amqps://")
	}
	if !strings.HasPrefix(s[colon+1:], "//") {
		return "", errors.New(`the scheme must be followed by "//": amqp://host or amqps://host`)
	}
	return scheme, nil
}

// parseUserinfo reads userinfo (user[:password], before the '@'), which
// starts at byte start of the URI: the parts, unescaped, and where the user
// name and password stand (for masking).
func (p *URIParts) parseUserinfo(userinfo string, start int) error {
	p.HasUser = true
	if !validUserinfo(userinfo) {
		return errors.New("the user name or password holds a character that must be percent-encoded")
	}
	rawUser, rawPass := userinfo, ""
	if c := strings.IndexByte(userinfo, ':'); c >= 0 {
		p.HasPassword = true
		rawUser, rawPass = userinfo[:c], userinfo[c+1:]
		p.pass = [2]int{start + c + 1, start + len(userinfo)}
	}
	p.user = [2]int{start, start + len(rawUser)}
	if rawUser == "" {
		return errors.New("empty user name before '@'")
	}
	var err error
	if p.User, err = url.PathUnescape(rawUser); err != nil {
		return errors.New("bad percent-encoding in the user name")
	}
	if p.Password, err = url.PathUnescape(rawPass); err != nil {
		return errors.New("bad percent-encoding in the password")
	}
	return nil
}

// agreeWithNetURL checks that net/url (which amqp091-go uses) reads s as
// the same host, port and userinfo, and takes the vhost from its path.
func (p *URIParts) agreeWithNetURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a valid URI (net/url refuses it)")
	}
	if u.Hostname() != p.Host || portOf(u.Port()) != p.Port || (u.User != nil) != p.HasUser {
		return errors.New("ambiguous URI: its parts read differently")
	}
	if u.User != nil {
		pw, ok := u.User.Password()
		if u.User.Username() != p.User || ok != p.HasPassword || pw != p.Password {
			return errors.New("ambiguous URI: its userinfo reads differently")
		}
	}
	p.Vhost = "/"
	if len(u.Path) > 1 {
		p.Vhost = u.Path[1:]
	}
	return nil
}

func portOf(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}

func splitHostPort(hp string) (string, int, error) {
	host, port := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", 0, errors.New("invalid host: missing ']' after an IPv6 address")
		}
		host, port = hp[1:end], hp[end+1:]
		if port != "" && port[0] != ':' {
			return "", 0, errors.New("invalid host: text after an IPv6 address")
		}
		if strings.ContainsAny(host, "[]") || host == "" {
			return "", 0, errors.New("invalid host")
		}
	} else if c := strings.LastIndexByte(hp, ':'); c >= 0 {
		host, port = hp[:c], hp[c:]
	}
	if host == "" {
		return "", 0, errors.New("empty host: say amqp://HOST or amqp://USER:PASSWORD@HOST")
	}
	if strings.ContainsAny(host, "[]:") && !strings.HasPrefix(hp, "[") {
		return "", 0, errors.New("invalid host (an IPv6 address goes in brackets)")
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:", c) >= 0) {
			return "", 0, errors.New("invalid host: letters, digits, '-', '.', '_' and '~' only")
		}
	}
	if port == "" {
		return host, 0, nil
	}
	port = port[1:]
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '-' {
		return "", 0, errors.New("invalid port (1-65535)")
	}
	return host, n, nil
}

// validUserinfo is net/url's rule: unreserved, sub-delims, ':', '@' and
// percent-encoded bytes.
func validUserinfo(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._:~!$&'()*+,;=%@", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Redacted returns the URI as given (trimmed) with its password, when it
// has one, replaced by "xxxxx": the same bytes [Text] masks.
func (p URIParts) Redacted() string {
	if !p.HasPassword {
		return p.raw
	}
	return p.raw[:p.pass[0]] + Mask + p.raw[p.pass[1]:]
}

// Mask replaces a password.
const Mask = "xxxxx"

// String is [URIParts.Redacted]: a URIParts never prints its password.
func (p URIParts) String() string { return p.Redacted() }

// Encode renders the parts back as a URI that ParseURI reads as the same
// parts, password included: use it only to dial.
func (p URIParts) Encode() string {
	u := url.URL{Scheme: p.Scheme, Host: p.Host, RawQuery: p.RawQuery}
	if strings.Contains(p.Host, ":") {
		u.Host = "[" + p.Host + "]"
	}
	if p.Port != 0 {
		u.Host += ":" + strconv.Itoa(p.Port)
	}
	if p.HasPassword {
		u.User = url.UserPassword(p.User, p.Password)
	} else if p.HasUser {
		u.User = url.User(p.User)
	}
	if p.Vhost != "/" {
		u.Path = "/" + p.Vhost
		u.RawPath = "/" + strings.ReplaceAll(url.PathEscape(p.Vhost), "@", "%40")
	}
	return u.String()
}
