package nullbroker

import (
	"bufio"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/nullbroker/codec"
)

// rawClient speaks AMQP frame by frame with nullbroker's own codec, for
// tests of what amqp091-go never sends (channel ids above channel_max,
// oversized frames, the authentication_failure_close capability, silence).
type rawClient struct {
	t  testing.TB
	nc net.Conn
	fr frameReader
}

// rawConnect opens a socket and sends the protocol header.
func rawConnect(t testing.TB, s *Server) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	r := &rawClient{t: t, nc: nc, fr: frameReader{r: bufio.NewReader(nc)}}
	r.write(protocolHeader)
	return r
}

// rawOptions shape the handshake of rawDial.
type rawOptions struct {
	caps       codec.Table
	user, pass string
	channelMax uint16
	frameMax   uint32
	heartbeat  uint16
}

// rawDial connects and runs the handshake through open-ok.
func rawDial(t testing.TB, s *Server, o rawOptions) *rawClient {
	t.Helper()
	r := rawConnect(t, s)
	r.login(o)
	if _, m, _ := r.readMethod(); m != connectionTune {
		t.Fatalf("got %v, want connection.tune", m)
	}
	r.sendMethod(0, connectionTuneOk, func(e *codec.Encoder) {
		e.Short(o.channelMax)
		e.Long(o.frameMax)
		e.Short(o.heartbeat)
	})
	r.sendMethod(0, connectionOpen, func(e *codec.Encoder) {
		e.ShortStr("/")
		e.ShortStr("")
		e.Bits(false)
	})
	if _, m, _ := r.readMethod(); m != connectionOpenOk {
		t.Fatalf("got %v, want connection.open-ok", m)
	}
	return r
}

// login reads connection.start and answers start-ok.
func (r *rawClient) login(o rawOptions) {
	r.t.Helper()
	if _, m, _ := r.readMethod(); m != connectionStart {
		r.t.Fatalf("got %v, want connection.start", m)
	}
	if o.user == "" {
		o.user, o.pass = "guest", "guest"
	}
	r.sendMethod(0, connectionStartOk, func(e *codec.Encoder) {
		e.Table(codec.Table{"product": "rawclient", "capabilities": o.caps})
		e.ShortStr("PLAIN")
		e.LongStr("\x00" + o.user + "\x00" + o.pass)
		e.ShortStr("en_US")
	})
}

func (r *rawClient) write(b []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawClient) sendMethod(ch uint16, m methodID, args func(*codec.Encoder)) {
	r.t.Helper()
	r.write(appendMethod(nil, ch, m, args))
}

// readMethod returns the next method frame, skipping heartbeats.
func (r *rawClient) readMethod() (uint16, methodID, *codec.Decoder) {
	r.t.Helper()
	for {
		f, err := r.fr.read()
		if err != nil {
			r.t.Fatalf("read: %v", err)
		}
		if f.typ == frameHeartbeat {
			continue
		}
		if f.typ != frameMethod {
			r.t.Fatalf("got frame type %d, want a method", f.typ)
		}
		m := methodID{binary.BigEndian.Uint16(f.payload), binary.BigEndian.Uint16(f.payload[2:])}
		d := codec.NewDecoder(append([]byte(nil), f.payload[4:]...))
		return f.channel, m, &d
	}
}

// expectClose reads a connection.close and returns its code and text.
func (r *rawClient) expectClose() (int, string) {
	r.t.Helper()
	ch, m, d := r.readMethod()
	if ch != 0 || m != connectionClose {
		r.t.Fatalf("got %v on channel %d, want connection.close", m, ch)
	}
	return int(d.Short()), d.ShortStr()
}
