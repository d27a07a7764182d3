package actors

import "encoding/binary"

// DroppedHeadersHeader names the header that replaces the headers of a
// delivery amqp091-go could not have read (nested deeper than it reads,
// more entries than it accepts, or malformed): Warren's link rewrites that
// content header before amqp091 sees it, so that the message costs itself
// only, not the connection. Its value (a string) says why; listeners
// dead-letter such a delivery with that reason.
const DroppedHeadersHeader = "x-warren-dropped-headers"

// amqp091-go's limits on a field table it reads (read.go, v1.17.0): tables
// and arrays nest at most maxFieldDepth levels below the headers table, and
// one holds at most maxContainerElements entries.
const (
	amqpMaxFieldDepth    = 32
	amqpMaxContainer     = 8192
	amqpReadAllocChunk   = 64 * 1024 // readBytes reads in chunks of this size
	amqpFlagContentType  = 0x8000
	amqpFlagContentEnc   = 0x4000
	amqpFlagHeaders      = 0x2000
	amqpFrameHeader      = 2 // content-header frame type
	amqpFrameEnd         = 0xCE
	amqpHeaderPropsStart = 14 // class, weight, body size, flags
)

// The reasons given in DroppedHeadersHeader.
const (
	reasonTooDeep   = "headers nested deeper than 32 levels (amqp091-go reads at most 32)"
	reasonTooLarge  = "a headers table or array with more than 8192 entries (amqp091-go reads at most 8192)"
	reasonMalformed = "malformed headers table (amqp091-go cannot decode it)"
)

// readErr mirrors the error kinds amqp091's field-table reader returns,
// which matter: an array ends without error where a read of its next
// element meets io.EOF, whatever nesting that EOF came from.
type readErr uint8

const (
	readOK     readErr = iota
	readEOF            // io.EOF: nothing left where a read began
	readShort          // io.ErrUnexpectedEOF: a read ran out part way
	readSyntax         // amqp091.ErrSyntax
)

// tableCheck walks a field table exactly as amqp091-go's reader does,
// without decoding it; why is the reason of its first syntax error.
type tableCheck struct {
	b   []byte
	i   int
	why string
}

// readN mirrors io.ReadFull of n bytes.
func (c *tableCheck) readN(n int) readErr {
	avail := len(c.b) - c.i
	switch {
	case avail >= n:
		c.i += n
		return readOK
	case avail == 0:
		return readEOF
	default:
		c.i = len(c.b)
		return readShort
	}
}

// readBytes mirrors amqp091's readBytes, which reads in 64 KiB chunks: it
// fails with io.EOF when the bytes run out at a chunk's start.
func (c *tableCheck) readBytes(n int64) readErr {
	avail := int64(len(c.b) - c.i)
	if avail >= n {
		c.i += int(n)
		return readOK
	}
	c.i = len(c.b)
	if avail%amqpReadAllocChunk == 0 {
		return readEOF
	}
	return readShort
}

func (c *tableCheck) syntax(why string) readErr {
	if c.why == "" {
		c.why = why
	}
	return readSyntax
}

// field mirrors readFieldDepth.
func (c *tableCheck) field(depth int) readErr {
	if e := c.readN(1); e != readOK {
		return e
	}
	switch c.b[c.i-1] {
	case 't', 'B', 'b':
		return c.readN(1)
	case 's', 'u':
		return c.readN(2)
	case 'I', 'i', 'f':
		return c.readN(4)
	case 'l', 'd', 'T':
		return c.readN(8)
	case 'D':
		if e := c.readN(1); e != readOK {
			return e
		}
		return c.readN(4)
	case 'S':
		if e := c.readN(4); e != readOK {
			return e
		}
		n := binary.BigEndian.Uint32(c.b[c.i-4:])
		if n > 1<<31-1 {
			return c.syntax(reasonMalformed)
		}
		return c.readBytes(int64(n))
	case 'x':
		if e := c.readN(4); e != readOK {
			return e
		}
		n := int32(binary.BigEndian.Uint32(c.b[c.i-4:]))
		if n < 0 {
			return c.syntax(reasonMalformed)
		}
		return c.readBytes(int64(n))
	case 'A':
		return c.array(depth + 1)
	case 'F':
		return c.table(depth + 1)
	case 'V':
		return readOK
	}
	return c.syntax(reasonMalformed)
}

// table mirrors readTableDepth. Where amqp091 counts distinct keys, it
// counts entries: a table of more than 8192 entries is refused even if
// duplicate keys would have let amqp091 read it.
func (c *tableCheck) table(depth int) readErr {
	if depth > amqpMaxFieldDepth {
		return c.syntax(reasonTooDeep)
	}
	if e := c.readN(4); e != readOK {
		return e
	}
	n := binary.BigEndian.Uint32(c.b[c.i-4:])
	if n > 1<<31-1 {
		return c.syntax(reasonMalformed)
	}
	start := c.i
	if e := c.readBytes(int64(n)); e != readOK {
		return e
	}
	inner := tableCheck{b: c.b[start:c.i]}
	for entries := 0; inner.i < len(inner.b); entries++ {
		inner.i++ // the key's length: there is one
		if e := inner.readBytes(int64(inner.b[inner.i-1])); e != readOK {
			c.why = inner.why
			return e
		}
		if e := inner.field(depth); e != readOK {
			if c.why == "" {
				c.why = inner.why
			}
			return e
		}
		if entries >= amqpMaxContainer {
			return c.syntax(reasonTooLarge)
		}
	}
	return readOK
}

// array mirrors readArrayDepth: its elements are read up to its size or
// up to the first read that meets the end.
func (c *tableCheck) array(depth int) readErr {
	if depth > amqpMaxFieldDepth {
		return c.syntax(reasonTooDeep)
	}
	if e := c.readN(4); e != readOK {
		return e
	}
	size := int64(binary.BigEndian.Uint32(c.b[c.i-4:]))
	if size > 1<<31-1 {
		return c.syntax(reasonMalformed)
	}
	end := c.i + int(min(size, int64(len(c.b)-c.i)))
	inner := tableCheck{b: c.b[c.i:end]}
	for elems := 0; ; elems++ {
		e := inner.field(depth)
		if e == readEOF {
			break
		}
		if e != readOK {
			c.i += inner.i
			if c.why == "" {
				c.why = inner.why
			}
			return e
		}
		if elems >= amqpMaxContainer {
			c.i += inner.i
			return c.syntax(reasonTooLarge)
		}
	}
	c.i += inner.i
	return readOK
}

// headersTable finds the headers table of a content-header frame's payload
// and checks it. It returns the table's bounds (payload[start:end], length
// prefix included) and why amqp091 could not read it; why is "" when it
// could, when the frame has no headers, or when the frame is broken
// before or around the table (then amqp091 fails on it whatever Warren
// does, and it is left alone).
func headersTable(payload []byte) (start, end int, why string) {
	if len(payload) < amqpHeaderPropsStart {
		return 0, 0, ""
	}
	flags := binary.BigEndian.Uint16(payload[12:14])
	if flags&amqpFlagHeaders == 0 {
		return 0, 0, ""
	}
	i := amqpHeaderPropsStart
	for _, f := range [...]uint16{amqpFlagContentType, amqpFlagContentEnc} {
		if flags&f == 0 {
			continue
		}
		if i >= len(payload) {
			return 0, 0, ""
		}
		i += 1 + int(payload[i])
	}
	if i+4 > len(payload) {
		return 0, 0, ""
	}
	n := int64(binary.BigEndian.Uint32(payload[i:]))
	if n > int64(len(payload)-i-4) {
		return 0, 0, "" // the table runs past the frame
	}
	c := tableCheck{b: payload[:i+4+int(n)], i: i}
	if c.table(0) == readOK {
		return 0, 0, ""
	}
	if c.why == "" {
		c.why = reasonMalformed
	}
	return i, i + 4 + int(n), c.why
}

// appendDroppedTable appends the field table that replaces an unreadable
// headers table: {DroppedHeadersHeader: why}.
func appendDroppedTable(b []byte, why string) []byte {
	n := 1 + len(DroppedHeadersHeader) + 1 + 4 + len(why)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = append(b, byte(len(DroppedHeadersHeader)))
	b = append(b, DroppedHeadersHeader...)
	b = append(b, 'S')
	b = binary.BigEndian.AppendUint32(b, uint32(len(why)))
	return append(b, why...)
}

// rewriteHeaderFrame appends to dst frame (a whole content-header frame,
// end octet included) with its headers table payload[start:end] replaced
// by the dropped-headers table.
func rewriteHeaderFrame(dst, frame []byte, start, end int, why string) []byte {
	payload := frame[7 : len(frame)-1]
	at := len(dst)
	dst = append(dst, frame[:7]...)
	dst = append(dst, payload[:start]...)
	dst = appendDroppedTable(dst, why)
	dst = append(dst, payload[end:]...)
	dst = append(dst, amqpFrameEnd)
	binary.BigEndian.PutUint32(dst[at+3:], uint32(len(dst)-at-8))
	return dst
}
