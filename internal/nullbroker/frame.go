package nullbroker

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/warrenmq/warren/internal/nullbroker/codec"
)

// Frame types and the frame-end octet (AMQP 0-9-1 §4.2.3).
const (
	frameMethod    = 1
	frameHeader    = 2
	frameBody      = 3
	frameHeartbeat = 8
	frameEnd       = 0xCE
)

// frameOverhead is what a frame adds around its payload: type (1), channel
// (2), size (4) and frame-end (1). A negotiated frame_max covers all of it.
const frameOverhead = 8

// minFrameMax is the smallest frame_max a peer may negotiate (spec: 4096).
const minFrameMax = 4096

// protocolHeader opens every AMQP 0-9-1 connection.
var protocolHeader = []byte("AMQP\x00\x00\x09\x01")

// frame is one frame read off the wire. payload aliases the reader's buffer
// and is valid only until the next read.
type frame struct {
	typ     uint8
	channel uint16
	payload []byte
}

// frameReader reads frames through a buffered reader, reusing one payload
// buffer.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
	// max is the largest frame, overhead included, the peer may send; 0 means
	// no limit.
	max uint32
}

// errFrameTooLarge is returned for a frame bigger than the negotiated
// frame_max; the connection answers it with 501 FRAME_ERROR.
type errFrameTooLarge struct{ size, max uint32 }

func (e errFrameTooLarge) Error() string {
	return fmt.Sprintf("frame size %d exceeds frame_max %d", e.size+frameOverhead, e.max)
}

// errBadFrameEnd is returned when a frame does not end with 0xCE.
type errBadFrameEnd struct{ got byte }

func (e errBadFrameEnd) Error() string { return fmt.Sprintf("frame end is 0x%02x, want 0xCE", e.got) }

// read reads the next frame.
func (fr *frameReader) read() (frame, error) {
	var hdr [7]byte
	if _, err := io.ReadFull(fr.r, hdr[:]); err != nil {
		return frame{}, err
	}
	f := frame{typ: hdr[0], channel: binary.BigEndian.Uint16(hdr[1:3])}
	size := binary.BigEndian.Uint32(hdr[3:7])
	if fr.max > 0 && size > fr.max-frameOverhead {
		return frame{}, errFrameTooLarge{size, fr.max}
	}
	if uint32(cap(fr.buf)) < size+1 {
		fr.buf = make([]byte, size+1)
	}
	b := fr.buf[:size+1]
	if _, err := io.ReadFull(fr.r, b); err != nil {
		return frame{}, err
	}
	if b[size] != frameEnd {
		return frame{}, errBadFrameEnd{b[size]}
	}
	f.payload = b[:size]
	return f, nil
}

// The append functions below encode frames onto a byte slice, ready to be
// written. They never fail.

// appendMethod appends a method frame for class.method on channel ch; args,
// if not nil, encodes the method's arguments.
func appendMethod(buf []byte, ch uint16, m methodID, args func(e *codec.Encoder)) []byte {
	start := len(buf)
	buf = append(buf, frameMethod, byte(ch>>8), byte(ch), 0, 0, 0, 0)
	e := codec.Encoder{Buf: buf}
	e.Short(m.class)
	e.Short(m.method)
	if args != nil {
		args(&e)
	}
	buf = e.Buf
	binary.BigEndian.PutUint32(buf[start+3:], uint32(len(buf)-start-7))
	return append(buf, frameEnd)
}

// appendContent appends the content header frame and as many body frames as
// frameMax requires for a basic-class message. props is the encoded property
// list (flags first).
func appendContent(buf []byte, ch uint16, props, body []byte, frameMax uint32) []byte {
	// Header frame: class, weight, body size, properties.
	size := 2 + 2 + 8 + len(props)
	buf = append(buf, frameHeader, byte(ch>>8), byte(ch))
	buf = binary.BigEndian.AppendUint32(buf, uint32(size))
	buf = binary.BigEndian.AppendUint16(buf, classBasic)
	buf = append(buf, 0, 0)
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(body)))
	buf = append(buf, props...)
	buf = append(buf, frameEnd)

	// Body frames of at most frameMax-8 bytes; an empty body has none.
	chunk := len(body)
	if frameMax > 0 {
		chunk = int(frameMax - frameOverhead)
	}
	for len(body) > 0 {
		n := min(chunk, len(body))
		buf = append(buf, frameBody, byte(ch>>8), byte(ch))
		buf = binary.BigEndian.AppendUint32(buf, uint32(n))
		buf = append(buf, body[:n]...)
		buf = append(buf, frameEnd)
		body = body[n:]
	}
	return buf
}

// appendHeartbeat appends a heartbeat frame (always on channel 0, empty).
func appendHeartbeat(buf []byte) []byte {
	return append(buf, frameHeartbeat, 0, 0, 0, 0, 0, 0, frameEnd)
}
