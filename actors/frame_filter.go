package actors

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"
)

// frameFilter is the read side of a Link: it follows the AMQP frames the
// broker sends (7-octet header: type, channel, size; payload; end octet)
// and rewrites a content-header frame whose headers table amqp091-go could
// not read (see headersTable) before amqp091 sees it: the table is
// replaced by {DroppedHeadersHeader: reason} and the frame's size fixed.
// Without it, such a frame is a frame error (502) that closes the whole
// connection, and the broker redelivers the message to the next one,
// forever. Every other byte passes unchanged: frames are scanned in the
// caller's buffer, and only a content-header frame split across reads (or
// one rewritten) is copied into the filter's own.
//
// Reads must not overlap (amqp091 reads from one goroutine); the rest of
// net.Conn passes through.
type frameFilter struct {
	net.Conn

	max     int           // content-header frames longer than this pass unchecked
	dropped atomic.Uint64 // content headers rewritten

	// Scan state, owned by the reading goroutine.
	skip  int     // octets left of the frame being passed (payload and end)
	head  [7]byte // a frame header split across reads (not a content header)
	nhead int
	off   bool // the stream is not AMQP frames (a refused protocol header): pass it all

	// pend[pr:pw] are octets read and not yet handed out, of which
	// pend[pr:ps] are scanned; pend[ps:] starts with a content-header frame
	// being collected.
	pend       []byte
	pr, ps, pw int
	err        error // the socket's read error, returned once pend is handed out
	spare      []byte
}

// minFilterHold is the smallest cap on the content-header frames the filter
// holds to check: amqp091's default frame_max is 128 KiB.
const minFilterHold = 1 << 20

func newFrameFilter(c net.Conn, frameMax int) *frameFilter {
	return &frameFilter{Conn: c, max: max(frameMax, minFilterHold)}
}

// hold says why scan stopped before the end of its input.
type hold uint8

const (
	holdNone    hold = iota
	holdPartial      // a content-header frame not all read yet
	holdRewrite      // a whole content-header frame to rewrite
)

// scan advances over b, which continues the stream from where the last
// scan ended, and returns how many octets are cleared to hand out: all of
// b, or up to a content-header frame it must hold.
func (f *frameFilter) scan(b []byte) (int, hold) {
	i := 0
	for i < len(b) && !f.off {
		if f.skip > 0 {
			n := min(f.skip, len(b)-i)
			i += n
			f.skip -= n
			continue
		}
		if f.nhead == 0 && len(b)-i >= 7 { // a whole frame header: no copy
			typ, size := b[i], int(binary.BigEndian.Uint32(b[i+3:]))
			if typ == amqpFrameHeader && size >= 0 && size <= f.max-8 {
				if len(b)-i < size+8 {
					return i, holdPartial
				}
				frame := b[i : i+size+8]
				if frame[size+7] == amqpFrameEnd {
					if _, _, why := headersTable(frame[7 : size+7]); why != "" {
						return i, holdRewrite
					}
				}
				i += size + 8
				continue
			}
			if !frameType(typ) || size < 0 { // not a frame: amqp091 fails on it; stop looking
				f.off = true
				break
			}
			i += 7
			f.skip = size + 1
			continue
		}
		if f.nhead == 0 && b[i] == amqpFrameHeader {
			return i, holdPartial // its size decides whether it is held
		}
		n := copy(f.head[f.nhead:], b[i:])
		i += n
		f.nhead += n
		if f.nhead < 7 {
			continue
		}
		f.nhead = 0
		if !frameType(f.head[0]) {
			f.off = true
			break
		}
		f.skip = int(binary.BigEndian.Uint32(f.head[3:])) + 1
		if f.skip <= 0 { // a size past int on 32-bit platforms
			f.off = true
		}
	}
	return len(b), holdNone
}

// frameType reports whether t is an AMQP 0-9-1 frame type (method,
// content header, body, heartbeat).
func frameType(t byte) bool { return t == 1 || t == 2 || t == 3 || t == 8 }

// Read reads from the socket into p and hands out what the scan cleared.
func (f *frameFilter) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if f.pw == 0 {
		n, err := f.Conn.Read(p)
		k, h := f.scan(p[:n])
		if h == holdNone {
			return n, err
		}
		f.pend = append(f.pend[:0], p[k:n]...)
		f.pr, f.ps, f.pw, f.err = 0, 0, len(f.pend), err
		if k > 0 {
			return k, nil
		}
	}
	return f.readPending(p)
}

// readPending hands out pend, reading more into it until the content-header
// frame at its scan point is whole (then checked and, if need be,
// rewritten).
func (f *frameFilter) readPending(p []byte) (int, error) {
	for f.ps == f.pr {
		if f.err != nil { // no more is coming: hand out what is left as it is
			f.ps = f.pw
			break
		}
		k, h := f.scan(f.pend[f.ps:f.pw])
		f.ps += k
		switch h {
		case holdRewrite:
			f.rewrite()
			continue
		case holdNone:
			continue
		}
		if f.ps > f.pr {
			break
		}
		f.fill()
	}
	n := copy(p, f.pend[f.pr:f.ps])
	f.pr += n
	if f.pr < f.pw {
		return n, nil
	}
	err := f.err
	f.pr, f.ps, f.pw, f.err = 0, 0, 0, nil
	if cap(f.pend) > 64<<10 {
		f.pend = nil // a large frame was held: give its buffer back
	}
	return n, err
}

// fill reads more octets into pend, which is all held (pr == ps).
func (f *frameFilter) fill() {
	need := 7
	if f.pw-f.ps >= 7 {
		need = int(binary.BigEndian.Uint32(f.pend[f.ps+3:])) + 8
	}
	if f.pr > 0 {
		f.pw = copy(f.pend, f.pend[f.pr:f.pw])
		f.pr, f.ps = 0, 0
	}
	if cap(f.pend) < max(need, 4096) {
		grown := make([]byte, f.pw, max(need, 4096))
		copy(grown, f.pend[:f.pw])
		f.pend = grown
	}
	f.pend = f.pend[:cap(f.pend)]
	n, err := f.Conn.Read(f.pend[f.pw:])
	f.pw += n
	f.pend = f.pend[:f.pw]
	f.err = err
}

// rewrite replaces the whole content-header frame at pend[ps:] by its
// rewritten form and marks it scanned.
func (f *frameFilter) rewrite() {
	size := int(binary.BigEndian.Uint32(f.pend[f.ps+3:]))
	frame := f.pend[f.ps : f.ps+size+8]
	start, end, why := headersTable(frame[7 : size+7])
	out := append(f.spare[:0], f.pend[f.pr:f.ps]...)
	out = rewriteHeaderFrame(out, frame, start, end, why)
	done := len(out)
	out = append(out, f.pend[f.ps+size+8:f.pw]...)
	f.spare = f.pend[:0]
	if cap(f.spare) > 64<<10 {
		f.spare = nil
	}
	f.pend = out
	f.pr, f.ps, f.pw = 0, done, len(out)
	f.dropped.Add(1)
}

// dialFunc is amqp091's Config.Dial.
type dialFunc = func(network, addr string) (net.Conn, error)

// filteredDial returns the Dial and the URI to give amqp091 so that the
// connection's frames are read through a frameFilter; dial is the Link's
// (newLink). For amqps the filter must read the plain text, under TLS:
// Warren does the TLS handshake itself and gives amqp091 the URI with
// scheme amqp (user, vhost and query unchanged) and no TLS config, and a
// Dial that dials the amqps URI's address (amqp091 would pick 5672 for a
// URI without a port). cfg is amqp091's config, changed in place.
func (l *Link) filteredDial(dial dialFunc, uri string, cfg *amqp.Config) (dialFunc, string, error) {
	frameMax := cfg.FrameSize
	if frameMax <= 0 {
		frameMax = 128 << 10 // amqp091's default
	}
	tc := cfg.TLSClientConfig
	if tc == nil {
		return func(network, addr string) (net.Conn, error) {
			c, err := dial(network, addr)
			if err != nil {
				return nil, err
			}
			f := newFrameFilter(newCoalescer(c, l), frameMax)
			l.filter.Store(f)
			return f, nil
		}, uri, nil
	}
	parsed, err := amqp.ParseURI(uri)
	if err != nil || parsed.Scheme != "amqps" || len(uri) < len("amqps:") || !strings.EqualFold(uri[:len("amqps:")], "amqps:") {
		return nil, "", errors.New("warren: an amqps URI was expected with a TLS config") // never the URI: it holds the password
	}
	if tc.ServerName == "" {
		tc.ServerName = parsed.Host
	}
	cfg.TLSClientConfig = nil
	target := net.JoinHostPort(parsed.Host, strconv.Itoa(parsed.Port))
	return func(network, _ string) (net.Conn, error) {
		c, err := dial(network, target)
		if err != nil {
			return nil, err
		}
		tlsConn := tls.Client(c, tc)
		if err := tlsConn.Handshake(); err != nil { // under the deadline the dialer set on c
			_ = c.Close()
			return nil, err
		}
		f := newFrameFilter(newCoalescer(tlsConn, l), frameMax)
		l.filter.Store(f)
		return f, nil
	}, "amqp:" + uri[len("amqps:"):], nil
}

// DroppedHeaders returns how many deliveries this link had their headers
// replaced by DroppedHeadersHeader, because amqp091 could not have read
// them.
func (l *Link) DroppedHeaders() uint64 {
	if l == nil {
		return 0
	}
	if f := l.filter.Load(); f != nil {
		return f.dropped.Load()
	}
	return 0
}
