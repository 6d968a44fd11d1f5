package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
)

// Session is one client's message session. It outlives carriers: a client that loses its
// connection resumes the same Session on a new one, on any transport, and every message
// arrives exactly once and in order. Raw WebSocket clients and SockJS clients get
// Sessions too, without resume.
//
// Read, Write and Close are safe for concurrent use.
type Session struct {
	srv      *Server
	id       string
	token    string
	protocol string
	raw      bool
	client   string // the opening request's client address (Options.ClientAddress)
	textOnly bool   // SockJS: a binary Write fails with ErrTextOnly
	req      *http.Request
	ctx      context.Context
	cancel   context.CancelFunc
	readable chan struct{} // cap 1: a message arrived, or the session ended
	space    chan struct{} // cap 1: Read made room in the inbox; nil until the inbox first fills (guarded by mu)

	mu        sync.Mutex
	transport string
	car       carrier
	carGen    uint64
	lost      bool        // the last carrier failed (rather than ending after its one batch)
	open      *wire.Frame // OPEN still to be sent on the current carrier
	writing   bool        // the writer goroutine is running
	batch     []wire.Frame
	sending   carrier // the carrier a batch is on its way to, while the writer is in Send

	out      outbox
	next     int // index in out of the next message to send on the current carrier
	pongs    [][]byte
	pingDue  bool
	sentTick bool // something was sent since the last heartbeat tick

	accepted uint64 // client messages accepted, in order
	lastAck  uint64 // the last ACK count sent
	ackDue   bool
	ackArmed bool // ackTimer runs
	inbox    []inMsg
	inHead   int

	closeOut   *wire.Frame // our CLOSE: sent after the last message, again on every new carrier
	closeOnCar bool        // closeOut went out on the current carrier
	peerClose  *polysock.CloseError
	endErr     *polysock.CloseError
	ended      chan struct{}

	pingTimer   *time.Timer
	ackTimer    *time.Timer
	resumeTimer *time.Timer
	closeTimer  *time.Timer

	// HTTP liveness (http.go): when the client was last heard from, in time.Now's Unix
	// nanoseconds, and how many of its HTTP requests are in progress (each counts as heard).
	heard    atomic.Int64
	requests atomic.Int32

	topics map[string]struct{} // the topics subscribed to (pubsub.go); guarded by srv.topicsMu
}

type inMsg struct {
	typ  polysock.MessageType
	data []byte
}

// ID is the session id, the same on every carrier.
func (s *Session) ID() string { return s.id }

// Transport names the transport of the current (or last) carrier: "websocket", "stream",
// "poll" or "sockjs". It changes when the client moves the session to another transport.
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}

// Protocol is the subprotocol chosen when the session opened, or "".
func (s *Session) Protocol() string { return s.protocol }

// Raw reports whether the client is a plain WebSocket client (or SockJS) without polysock
// framing: such a session has no resume.
func (s *Session) Raw() bool { return s.raw }

// Request is the request that opened the session, without its body and without the
// protocol's own ps_* query parameters. It must not be modified.
func (s *Session) Request() *http.Request { return s.req }

// Context is done when the session has ended.
func (s *Session) Context() context.Context { return s.ctx }

// Buffered is the number of bytes written with Write that the client has not yet
// acknowledged. Write fails with 4008 when it would pass Options.OutboxBytes.
func (s *Session) Buffered() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.bytes
}

// Read returns the next message from the client. It blocks until one arrives, ctx is
// done (returning ctx.Err(); the session goes on) or the session has ended and every
// message received before the end has been read (returning the *polysock.CloseError).
func (s *Session) Read(ctx context.Context) (polysock.MessageType, []byte, error) {
	for {
		s.mu.Lock()
		if s.inHead < len(s.inbox) {
			m := s.inbox[s.inHead]
			s.inbox[s.inHead] = inMsg{}
			s.inHead++
			if s.inHead == len(s.inbox) {
				s.inbox, s.inHead = s.inbox[:0], 0
			}
			more := s.inHead < len(s.inbox)
			space := s.space
			s.mu.Unlock()
			if space != nil {
				signal(space)
			}
			if more {
				signal(s.readable)
			}
			return m.typ, m.data, nil
		}
		if s.endErr != nil {
			err := s.endErr
			s.mu.Unlock()
			signal(s.readable)
			return 0, nil, err
		}
		s.mu.Unlock()
		// The session's own context is done only when the session ends, which signals
		// readable too: waiting on readable alone saves an idle session the context's
		// done channel and a second parked waiter.
		done := ctx.Done()
		if ctx == s.ctx {
			done = nil
		}
		select {
		case <-s.readable:
		case <-done:
			return 0, nil, ctx.Err()
		}
	}
}

// ErrClosing is returned by Write once Close has been called.
var ErrClosing = errors.New("polysock: session is closing")

// Write queues a message for the client and returns without waiting for the network.
// data is copied. Text must be valid UTF-8. The message stays in the session's outbox
// until the client acknowledges it, so it survives a lost connection. When the outbox
// would pass Options.OutboxBytes the client is not keeping up: the session closes with
// 4008 and Write returns that *polysock.CloseError. After the session ended, Write returns
// its *polysock.CloseError. ctx is checked once; Write never blocks on the client.
// On a text-only session (SockJS) a Binary message fails with an error wrapping
// ErrTextOnly, and the session stays open.
func (s *Session) Write(ctx context.Context, typ polysock.MessageType, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var wt wire.Type
	switch typ {
	case polysock.Text:
		if !utf8.Valid(data) {
			return fmt.Errorf("failed to write: text message is not valid UTF-8")
		}
		wt = wire.TypeText
	case polysock.Binary:
		if s.textOnly {
			return fmt.Errorf("failed to write: %w", ErrTextOnly)
		}
		wt = wire.TypeBinary
	default:
		return fmt.Errorf("failed to write: unknown message type %d", typ)
	}
	buf := make([]byte, len(data))
	copy(buf, data)
	return s.queue(wt, buf)
}

// queue is Write after its checks: it adds data, which it keeps and which nobody modifies
// afterwards, to the outbox.
func (s *Session) queue(wt wire.Type, data []byte) error {
	s.mu.Lock()
	if s.endErr != nil {
		err := s.endErr
		s.mu.Unlock()
		return err
	}
	if s.closeOut != nil || s.peerClose != nil {
		s.mu.Unlock()
		return ErrClosing
	}
	if s.out.bytes+int64(len(data)) > s.srv.cfg.OutboxBytes {
		s.mu.Unlock()
		err := &polysock.CloseError{Code: polysock.ClosePeerTooSlow, Reason: "peer too slow: outbox full"}
		s.logFailure(err)
		s.endNow(err) // the writer may be blocked on the full connection: never wait for it
		return err
	}
	s.out.push(wt, data)
	s.kickLocked()
	s.mu.Unlock()
	return nil
}

// Close starts the close handshake with code and reason and waits until it completes or
// Options.CloseTimeout passes. Messages written before Close are delivered first. code
// must be 1000 or 3000–4999 outside 4000–4099 (1012 is allowed too, for shutdown), and
// reason at most 123 bytes of UTF-8. Close returns nil after a clean close, the
// session's *polysock.CloseError when it ended otherwise, and an error for invalid
// arguments (the session then goes on).
func (s *Session) Close(code int, reason string) error {
	if err := checkCloseArgs(code, reason); err != nil {
		return err
	}
	return s.closeWith(uint16(code), reason)
}

func checkCloseArgs(code int, reason string) error {
	if code != polysock.CloseNormal && code != polysock.CloseServiceRestart && code != polysock.CloseGoingAway &&
		(code < 3000 || code > 4999 || (code >= 4000 && code <= 4099)) {
		return fmt.Errorf("failed to close: code %d is not 1000 or 3000-4999 outside 4000-4099", code)
	}
	if len(reason) > wire.MaxReasonBytes || !utf8.ValidString(reason) {
		return fmt.Errorf("failed to close: reason must be at most %d bytes of UTF-8", wire.MaxReasonBytes)
	}
	return nil
}

func (s *Session) closeWith(code uint16, reason string) error {
	s.mu.Lock()
	if s.endErr == nil && s.closeOut == nil && s.peerClose == nil {
		s.closeOut = &wire.Frame{Type: wire.TypeClose, Code: code, Data: []byte(reason)}
		s.closeOnCar = false
		s.closeTimer = time.AfterFunc(s.srv.cfg.CloseTimeout, func() {
			s.end(&polysock.CloseError{Code: int(code), Reason: reason})
		})
		if s.car == nil && s.raw {
			s.mu.Unlock()
			s.end(&polysock.CloseError{Code: polysock.CloseAbnormal, Reason: "connection lost"})
			s.mu.Lock()
		}
		s.kickLocked()
	}
	s.mu.Unlock()
	<-s.ended
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.endErr.WasClean {
		return nil
	}
	return s.endErr
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
