package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
)

// Conn is a client session. Its methods are safe for concurrent use.
type Conn struct {
	sess  *session
	cfg   *config
	e     *endpoint
	log   *slog.Logger
	readq chan message  // accepted messages for Read; bounded by Options.ReadQueue
	wake  chan struct{} // nudges the writer; capacity 1
	fr    *frameReader  // of the current carrier; the reader's own

	// The reader's own, for the backoff of resumes.
	installedAt time.Time // when the current carrier was installed
	quickLosses int       // carriers in a row lost within stableAfter

	mu        sync.Mutex
	car       carrier       // the current carrier; nil while the reader resumes the session
	gen       uint64        // the session's carrier generation that car serves
	transport string        // car's transport, or the last one's while resuming
	changed   chan struct{} // closed and replaced whenever car changes
	want      string        // the transport SwitchTransport asked for; "" when none
	resumes   int           // carriers that resumed the session

	// Background upgrade to WebSocket (upgrade.go).
	probe      *probed       // a WebSocket the upgrader opened, for the reader to install
	probeBusy  chan struct{} // closed when the probe under way ends; nil when none
	probes     int           // probes started
	holds      int           // times probing stopped for Options.UpgradeHold
	holdProbes int           // probes started when the last hold began
	deaths     int           // WebSockets in a row that failed or died early
	holdUntil  time.Time     // no probe before
	upFrom     string        // the transport the current WebSocket carrier upgraded from; "" when none

	ctx    context.Context // done when the session ends
	cancel context.CancelFunc
	done   chan struct{} // closed when the session ends, after err is set
	once   sync.Once
	err    *polysock.CloseError // how the session ended
	wg     sync.WaitGroup       // the reader and the writer
}

type message struct {
	typ  polysock.MessageType
	data []byte
}

// Dial opens a new session at rawURL: ws, wss, http or https (ws means http and wss
// https), with the application's own query parameters kept and the protocol's added after
// them. It tries the transports of opts in order and returns once the server's OPEN has
// arrived. ctx bounds the dial only; the session lives until it is closed. Every attempt
// but the last is also bounded by Options.AttemptTimeout; a failed attempt gives way to
// the next transport unless the server refused the session itself.
//
// When the server refuses the session before OPEN (an unsupported version, a bad
// parameter, a refused Origin, the session limit...), the error wraps a
// *polysock.CloseError with the code of PROTOCOL.md section 9; an HTTP refusal also names
// its status.
func Dial(ctx context.Context, rawURL string, opts *Options) (*Conn, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, fmt.Errorf("failed to dial: %w", err)
	}
	e, err := parseEndpoint(rawURL)
	if err != nil {
		return nil, fmt.Errorf("failed to dial: %w", err)
	}
	var errs []error
	for i, t := range cfg.transports {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if i < len(cfg.transports)-1 {
			actx, cancel = context.WithTimeout(ctx, cfg.attemptTimeout)
		}
		c, err := dialTransport(actx, t, e, carrierParams{protocols: cfg.protocols}, cfg)
		cancel()
		if err == nil {
			return c, nil
		}
		err = fmt.Errorf("failed to dial %s: %w", t, err)
		cfg.log.Debug("polysock: dial failed", "transport", t, "err", err)
		if ctx.Err() != nil || definitive(err) {
			// A cancelled dial, or the server's answer, which another transport would get too.
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// definitive reports whether a failed dial reached the polysock server: its own refusal
// (a close code of PROTOCOL.md section 9, or a refused Origin), or an invalid OPEN, which
// every transport would get. Anything else (a refused connection, an HTTP error without a
// close code, a WebSocket that died before OPEN (1006), a timeout) lets Dial try the next
// transport.
func definitive(err error) bool {
	var pe *protocolError
	if errors.As(err, &pe) {
		return true
	}
	ce := closeOf(err)
	return ce != nil && ce.Code != int(wire.CloseAbnormal) && ce.Code != int(wire.CloseNoStatus)
}

// dialTransport opens a carrier of transport t with parameters p and reads its OPEN.
func dialTransport(ctx context.Context, t string, e *endpoint, p carrierParams, cfg *config) (*Conn, error) {
	car, err := dialers[t](ctx, e, p, cfg)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { car.close(wire.CloseGoingAway, "dial cancelled") })
	fr := newFrameReader(car, cfg.maxMessage)
	open, err := readOpen(fr, t, cfg.protocols)
	if !stop() {
		car.close(wire.CloseGoingAway, "dial cancelled")
		return nil, ctx.Err()
	}
	if err != nil {
		var pe *protocolError
		if errors.As(err, &pe) {
			car.close(pe.code, pe.reason)
		} else {
			car.close(wire.CloseNormal, "")
		}
		return nil, err
	}
	c := newConn(newSession(open, cfg.replayBuffer, cfg.livenessGrace), car, fr, e, cfg)
	cfg.log.Debug("polysock: session opened", "transport", t, "sid", open.Session, "protocol", open.Protocol)
	return c, nil
}

// frameCloseError is the close error a CLOSE frame reports (1005 when it has no code).
func frameCloseError(f *wire.Frame) *polysock.CloseError {
	code := int(f.Code)
	if code == 0 {
		code = int(wire.CloseNoStatus)
	}
	return &polysock.CloseError{Code: code, Reason: string(f.Data)}
}

// openBody reads the frame that starts a carrier (what names it in errors) and returns
// the OPEN body. A CLOSE there (which a server may send instead of closing the
// WebSocket) is the server's refusal, returned as an error wrapping its CloseError.
func openBody(fr *frameReader, what string) ([]byte, error) {
	f, err := fr.next()
	if err != nil {
		return nil, err
	}
	switch f.Type {
	case wire.TypeOpen:
		return f.Data, nil
	case wire.TypeClose:
		return nil, fmt.Errorf("server closed before OPEN: %w", frameCloseError(&f))
	}
	return nil, protoErr(wire.CloseProtocolError, "%s starts with %v, not OPEN", what, f.Type)
}

// readOpen reads the frame that starts a carrier. A CLOSE there (which a server may send
// instead of closing the WebSocket) is the server's refusal.
func readOpen(fr *frameReader, transport string, offered []string) (*wire.Open, error) {
	body, err := openBody(fr, "carrier")
	if err != nil {
		return nil, err
	}
	o, err := checkOpen(body, transport, offered)
	if err != nil {
		return nil, protoErr(wire.CloseProtocolError, "invalid OPEN: %v", err)
	}
	return o, nil
}

func newConn(s *session, car carrier, fr *frameReader, e *endpoint, cfg *config) *Conn {
	c := &Conn{
		sess:        s,
		cfg:         cfg,
		e:           e,
		car:         car,
		fr:          fr,
		transport:   car.transport(),
		installedAt: time.Now(),
		changed:     make(chan struct{}),
		log:         cfg.log.With("sid", s.id),
		readq:       make(chan message, cfg.readQueue),
		wake:        make(chan struct{}, 1),
		done:        make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if b, ok := car.(binder); ok {
		b.bind(s)
	}
	car.setIdle(s.idle)
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	if cfg.upgrades() {
		c.wg.Add(1)
		go c.upgradeLoop()
	}
	return c
}

// Transport names the transport of the current carrier: "websocket", "stream" or "poll".
// While the session is resuming after a lost carrier it names the lost carrier's
// transport. Options.OnTransportChange reports changes as they happen.
func (c *Conn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// current returns the current carrier (nil while resuming), its generation and the
// channel closed when it changes.
func (c *Conn) current() (carrier, uint64, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.car, c.gen, c.changed
}

// Protocol is the subprotocol the server chose, or "" when it chose none.
func (c *Conn) Protocol() string { return c.sess.protocol }

// SessionID is the session id the server assigned.
func (c *Conn) SessionID() string { return c.sess.id }

// Context returns a context that is done when the session has ended.
func (c *Conn) Context() context.Context { return c.ctx }

// Read returns the next message, in the order the server wrote them, each exactly once
// whatever carriers the session crossed. It blocks until one arrives (while the session
// resumes after a lost carrier it just waits), ctx is done (the error then wraps
// ctx.Err() and the session goes on), or the
// session has ended and every message received before the end has been read: then it
// returns the *polysock.CloseError that says how the session ended (the code and reason of
// the server's CLOSE with WasClean true after a close handshake, 1006 when the connection
// died without one and could not be resumed, 4004 when the server no longer knew the
// session on resuming: its resume window had passed). The returned slice is the caller's.
func (c *Conn) Read(ctx context.Context) (polysock.MessageType, []byte, error) {
	select {
	case m := <-c.readq:
		return m.typ, m.data, nil
	default:
	}
	select {
	case m := <-c.readq:
		return m.typ, m.data, nil
	case <-ctx.Done():
		return 0, nil, fmt.Errorf("failed to read: %w", ctx.Err())
	case <-c.done:
		select { // messages received before the end come first
		case m := <-c.readq:
			return m.typ, m.data, nil
		default:
			return 0, nil, c.err
		}
	}
}

// Write queues a message for the server and returns; the writer goroutine sends it,
// together with whatever else is queued. The data is copied. While the session resumes
// after a lost carrier, Write keeps queueing; the message goes out, after every
// unacknowledged one, on the next carrier. Write blocks while the
// outbound queue is full (1024 messages, or 1 MiB and at least one message, waiting for
// the network) or the replay buffer is (Options.ReplayBuffer, waiting for the server's
// ACKs), and returns early with an error wrapping ctx.Err() when ctx is done. It fails
// without closing the session for a text message that is not valid UTF-8, a message
// larger than the server accepts (ErrMessageTooBig) or than the replay buffer
// (ErrBufferFull); it fails with ErrClosing once the close handshake has begun, and with
// an error wrapping the *polysock.CloseError once the session has ended.
func (c *Conn) Write(ctx context.Context, typ polysock.MessageType, data []byte) error {
	var wt wire.Type
	switch typ {
	case polysock.Text:
		if !utf8.Valid(data) {
			return errors.New("failed to write: text message is not valid UTF-8")
		}
		wt = wire.TypeText
	case polysock.Binary:
		wt = wire.TypeBinary
	default:
		return fmt.Errorf("failed to write: invalid message type %v", typ)
	}
	if err := c.sess.checkSize(len(data)); err != nil {
		return fmt.Errorf("failed to write: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("failed to write: %w", err)
	}
	data = append(make([]byte, 0, len(data)), data...)
	for {
		wait, err := c.sess.enqueue(wt, data)
		if err != nil {
			return fmt.Errorf("failed to write: %w", err)
		}
		if wait == nil {
			c.nudge()
			return nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return fmt.Errorf("failed to write: %w", ctx.Err())
		}
	}
}

// Close ends the session with code and reason: it sends CLOSE after every message already
// written and waits up to 5 s for the server's answer. Messages that arrive meanwhile are
// still acknowledged; Read returns them while the read queue has room and drops the rest.
// code must be 1000, 1001, 1002, 1003, 1007–1014 or 3000–4999 except the range
// 4000–4099 that polysock reserves; reason at most 123 bytes of UTF-8. Invalid values
// return an error and send nothing.
//
// Close returns nil once the session has ended with a clean close handshake, whichever
// side began it; otherwise it returns an error wrapping the *polysock.CloseError. Later
// calls wait for the same end. When Close returns, the Conn's goroutines have exited.
func (c *Conn) Close(code int, reason string) error {
	if code < 0 || code > 0xffff || !wire.ValidCloseCode(uint16(code)) || code >= 4000 && code <= 4099 {
		return fmt.Errorf("failed to close: invalid close code %d", code)
	}
	if len(reason) > wire.MaxReasonBytes {
		return fmt.Errorf("failed to close: reason of %d bytes, the limit is %d", len(reason), wire.MaxReasonBytes)
	}
	if !utf8.ValidString(reason) {
		return errors.New("failed to close: reason is not valid UTF-8")
	}
	if c.sess.startClose(uint16(code), reason) {
		c.log.Debug("polysock: closing", "code", code, "reason", reason)
		c.nudge()
	}
	t := time.NewTimer(closeTimeout)
	select {
	case <-c.done:
	case <-t.C:
		c.end(&polysock.CloseError{Code: int(wire.CloseAbnormal), Reason: "no answer to CLOSE within 5s"})
	}
	t.Stop()
	c.wg.Wait()
	if c.err.WasClean {
		return nil
	}
	return fmt.Errorf("failed to close: %w", c.err)
}

// nudge wakes the writer.
func (c *Conn) nudge() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// end finishes the session once: it records how, releases Read, Write and Context, and
// closes the carrier so that the reader and the writer return.
func (c *Conn) end(ce *polysock.CloseError) {
	c.once.Do(func() {
		c.sess.end(ce)
		c.err = ce
		close(c.done)
		c.cancel()
		code := uint16(ce.Code)
		if ce.WasClean {
			code = wire.CloseNormal
		}
		c.mu.Lock()
		car, p := c.car, c.probe
		c.probe = nil
		c.mu.Unlock()
		if car != nil {
			car.close(code, "")
		}
		if p != nil {
			p.car.close(code, "")
		}
		c.log.Debug("polysock: session ended", "code", ce.Code, "reason", ce.Reason, "clean", ce.WasClean)
	})
}
