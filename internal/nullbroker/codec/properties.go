package codec

import "time"

// Property flags of the basic class content header, most significant bit
// first, in the order the properties follow the flags on the wire.
const (
	FlagContentType     = 0x8000
	FlagContentEncoding = 0x4000
	FlagHeaders         = 0x2000
	FlagDeliveryMode    = 0x1000
	FlagPriority        = 0x0800
	FlagCorrelationID   = 0x0400
	FlagReplyTo         = 0x0200
	FlagExpiration      = 0x0100
	FlagMessageID       = 0x0080
	FlagTimestamp       = 0x0040
	FlagType            = 0x0020
	FlagUserID          = 0x0010
	FlagAppID           = 0x0008
	FlagClusterID       = 0x0004 // reserved, deprecated; carried through
)

// Properties are the basic class content properties. Flags records which of
// them were present, so a decoded then re-encoded header keeps absent
// properties absent even where the value is the zero value.
type Properties struct {
	Flags           uint16
	ContentType     string
	ContentEncoding string
	Headers         Table
	DeliveryMode    uint8
	Priority        uint8
	CorrelationID   string
	ReplyTo         string
	Expiration      string
	MessageID       string
	Timestamp       time.Time
	Type            string
	UserID          string
	AppID           string
	ClusterID       string
}

// PropertyFlags returns the flags word at the start of raw, the encoded
// property list of a content header (the bytes after class, weight and body
// size), or 0 when raw is too short.
func PropertyFlags(raw []byte) uint16 {
	if len(raw) < 2 {
		return 0
	}
	return uint16(raw[0])<<8 | uint16(raw[1])
}

// DecodeProperties decodes raw, an encoded property list starting with its
// flags word.
func DecodeProperties(raw []byte) (Properties, error) {
	d := NewDecoder(raw)
	var p Properties
	p.Flags = d.Short()
	f := p.Flags
	str := func(flag uint16, dst *string) {
		if f&flag != 0 {
			*dst = d.ShortStr()
		}
	}
	str(FlagContentType, &p.ContentType)
	str(FlagContentEncoding, &p.ContentEncoding)
	if f&FlagHeaders != 0 {
		p.Headers = d.Table()
	}
	if f&FlagDeliveryMode != 0 {
		p.DeliveryMode = d.Octet()
	}
	if f&FlagPriority != 0 {
		p.Priority = d.Octet()
	}
	str(FlagCorrelationID, &p.CorrelationID)
	str(FlagReplyTo, &p.ReplyTo)
	str(FlagExpiration, &p.Expiration)
	str(FlagMessageID, &p.MessageID)
	if f&FlagTimestamp != 0 {
		p.Timestamp = time.Unix(int64(d.LongLong()), 0)
	}
	str(FlagType, &p.Type)
	str(FlagUserID, &p.UserID)
	str(FlagAppID, &p.AppID)
	str(FlagClusterID, &p.ClusterID)
	return p, d.Err()
}

// Properties appends p as a property list: the flags word, then each
// property whose flag is set.
func (e *Encoder) Properties(p *Properties) {
	f := p.Flags
	e.Short(f)
	str := func(flag uint16, s string) {
		if f&flag != 0 {
			e.ShortStr(s)
		}
	}
	str(FlagContentType, p.ContentType)
	str(FlagContentEncoding, p.ContentEncoding)
	if f&FlagHeaders != 0 {
		e.Table(p.Headers)
	}
	if f&FlagDeliveryMode != 0 {
		e.Octet(p.DeliveryMode)
	}
	if f&FlagPriority != 0 {
		e.Octet(p.Priority)
	}
	str(FlagCorrelationID, p.CorrelationID)
	str(FlagReplyTo, p.ReplyTo)
	str(FlagExpiration, p.Expiration)
	str(FlagMessageID, p.MessageID)
	if f&FlagTimestamp != 0 {
		e.LongLong(uint64(p.Timestamp.Unix()))
	}
	str(FlagType, p.Type)
	str(FlagUserID, p.UserID)
	str(FlagAppID, p.AppID)
	str(FlagClusterID, p.ClusterID)
}
