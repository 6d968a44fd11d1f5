package wire

import (
	"errors"
	"fmt"
)

// Version is the protocol version this package speaks.
const Version = 1

// MaxSafe is the largest sequence number, count or length the protocol allows: 2^53−1,
// so that JavaScript numbers hold every value exactly.
const MaxSafe = 1<<53 - 1

// MaxControlPayload is the largest PING or PONG payload, in bytes.
const MaxControlPayload = 125

// MaxReasonBytes is the largest CLOSE reason, in bytes of UTF-8.
const MaxReasonBytes = 123

// Type is a frame type.
type Type uint8

// Frame types, with their binary codes (PROTOCOL.md section 4).
const (
	TypePad    Type = 0x00
	TypeOpen   Type = 0x01
	TypeText   Type = 0x02
	TypeBinary Type = 0x03
	TypeAck    Type = 0x04
	TypePing   Type = 0x05
	TypePong   Type = 0x06
	TypeClose  Type = 0x07
)

var typeNames = [...]string{"PAD", "OPEN", "TEXT", "BINARY", "ACK", "PING", "PONG", "CLOSE"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%#x)", uint8(t))
}

// IsData reports whether t is a sequenced data frame type (TEXT or BINARY).
func (t Type) IsData() bool { return t == TypeText || t == TypeBinary }

// Frame is one decoded frame. Which fields matter depends on Type:
//
//   - TEXT, BINARY: Seq is the message number, Data the payload.
//   - ACK: Seq is the acknowledged count.
//   - PING, PONG: Data is the payload (at most MaxControlPayload bytes).
//   - CLOSE: Code is the close code (0 means "no code"), Data the UTF-8 reason.
//   - OPEN: Data is the JSON body (see Open).
//   - PAD: Data is filler.
//
// A Frame decoded from the binary form aliases the input buffer: copy Data before the
// buffer is reused.
type Frame struct {
	Type Type
	Seq  uint64
	Code uint16
	Data []byte
}

// Errors returned by the decoders. Decoding errors wrap ErrMalformed or ErrInvalidUTF8,
// so callers can pick the close code: 1007 for ErrInvalidUTF8, 1002 otherwise.
var (
	// ErrTruncated means the input ends inside a frame. A stream reader waits for more bytes;
	// a complete body that ends this way is malformed.
	ErrTruncated = errors.New("wire: truncated frame")
	// ErrMalformed means the input breaks the frame grammar.
	ErrMalformed = errors.New("wire: malformed frame")
	// ErrInvalidUTF8 means a TEXT payload or CLOSE reason is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("wire: invalid UTF-8")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// ValidCloseCode reports whether code may be sent in a CLOSE frame: 1000–1003, 1007–1014
// and 3000–4999, as in WebSocket (RFC 6455 section 7.4).
func ValidCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}
