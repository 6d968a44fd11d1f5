package polysock

import (
	"errors"
	"fmt"

	"github.com/polysock/polysock/internal/wire"
)

// MessageType says whether a message is text (valid UTF-8) or binary. The type is kept
// end to end on every transport.
type MessageType int

const (
	// Text is a message of valid UTF-8 text.
	Text MessageType = 1
	// Binary is a message of arbitrary bytes.
	Binary MessageType = 2
)

func (t MessageType) String() string {
	switch t {
	case Text:
		return "text"
	case Binary:
		return "binary"
	}
	return fmt.Sprintf("MessageType(%d)", int(t))
}

// Transport names, the same strings in every API, URL, log and test.
const (
	TransportWebSocket = wire.TransportWebSocket
	TransportStream    = wire.TransportStream
	TransportPoll      = wire.TransportPoll
	TransportSockJS    = wire.TransportSockJS
)

// Close codes. Applications may send 1000 and 3000–4999 except 4000–4099, which polysock
// reserves for the meanings below (PROTOCOL.md section 9).
const (
	CloseNormal             = int(wire.CloseNormal)             // normal closure
	CloseGoingAway          = int(wire.CloseGoingAway)          // the peer is leaving
	CloseProtocolError      = int(wire.CloseProtocolError)      // malformed frame, sequence gap, impossible ACK
	CloseUnsupportedData    = int(wire.CloseUnsupportedData)    // a text WebSocket message on a polysock session
	CloseNoStatus           = int(wire.CloseNoStatus)           // the CLOSE carried no code (never sent)
	CloseAbnormal           = int(wire.CloseAbnormal)           // ended without a close exchange (never sent)
	CloseInvalidPayload     = int(wire.CloseInvalidPayload)     // text that is not valid UTF-8
	ClosePolicyViolation    = int(wire.ClosePolicyViolation)    // the request broke server policy
	CloseMessageTooBig      = int(wire.CloseMessageTooBig)      // a message or batch above the limit
	CloseInternalError      = int(wire.CloseInternalError)      // the server failed
	CloseServiceRestart     = int(wire.CloseServiceRestart)     // the server is shutting down
	CloseTryAgainLater      = int(wire.CloseTryAgainLater)      // the server is at its session limit
	CloseUnsupportedVersion = int(wire.CloseUnsupportedVersion) // the peer speaks another protocol version
	CloseBadRequest         = int(wire.CloseBadRequest)         // a request parameter is missing or malformed
	CloseUnknownSession     = int(wire.CloseUnknownSession)     // no such session, or a wrong token
	CloseReplaced           = int(wire.CloseReplaced)           // a newer carrier took over (carrier-level)
	CloseResumeExpired      = int(wire.CloseResumeExpired)      // no carrier came back within the resume window
	ClosePeerTooSlow        = int(wire.ClosePeerTooSlow)        // the outbox passed its bound
)

// CloseError reports how a session ended. Read, Write and Close return it (possibly
// wrapped) once the session is over; use errors.As or CloseStatus to inspect it.
type CloseError struct {
	// Code is the close code: one sent by a peer, or 1006 (CloseAbnormal) when the session
	// ended without a close exchange.
	Code int
	// Reason is the UTF-8 reason, at most 123 bytes.
	Reason string
	// WasClean is true when both sides exchanged CLOSE frames.
	WasClean bool
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("polysock: session closed with code %d", e.Code)
	}
	return fmt.Sprintf("polysock: session closed with code %d: %s", e.Code, e.Reason)
}

// CloseStatus returns the close code of err's CloseError, or -1 when err holds none.
func CloseStatus(err error) int {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}
