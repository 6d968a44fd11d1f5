package client

import (
	"context"
	"io"
	"time"

	"github.com/polysock/polysock/internal/wire"
)

// carrier moves batches of binary-form frames over one transport connection (PROTOCOL.md
// section 4.3). It knows nothing of sessions, sequence numbers or acknowledgements: the
// session state lives in session and replay, so that a session can continue on a new
// carrier of any transport. Each transport has one file that implements carrier and
// registers its dial function in dialers.
type carrier interface {
	// transport names the carrier's transport ("websocket", "stream" or "poll").
	transport() string

	// next blocks until inbound bytes arrive and returns a reader of them: one batch, or
	// on a stream transport a run of batches. The reader returns a bare io.EOF where a
	// batch may end. Any other error of next or of the reader means the carrier is
	// finished; it wraps a *polysock.CloseError when the server closed the carrier with a
	// code, and is a *protocolError when the server broke the protocol. next and the
	// readers are used by one goroutine at a time.
	next() (io.Reader, error)

	// send writes one batch: complete frames, at most the server's maxBody bytes. It is
	// used by one goroutine at a time.
	send(batch []byte) error

	// setIdle sets how long next and its readers wait for bytes before failing: the
	// client's liveness limit (PROTOCOL.md section 7). Zero waits forever.
	setIdle(d time.Duration)

	// close ends the carrier, telling the server code and reason where the transport has
	// a way to, and makes blocked next, send and reader calls return. It is safe for
	// concurrent use; calls after the first do nothing.
	close(code uint16, reason string)
}

// dialFunc opens a carrier at e with the polysock parameters p (no sid for a new session;
// sid, token and ack to resume one). ctx bounds the dial; the carrier outlives it.
type dialFunc func(ctx context.Context, e *endpoint, p carrierParams, cfg *config) (carrier, error)

// dialers holds the implemented transports by name.
var dialers = map[string]dialFunc{
	wire.TransportWebSocket: dialWebSocket,
	wire.TransportStream:    dialStream,
	wire.TransportPoll:      dialPoll,
}

// binder is implemented by carriers that need the session their OPEN started (the HTTP
// carriers: later requests name it). newConn calls bind before the session's goroutines
// start.
type binder interface {
	bind(s *session)
}
