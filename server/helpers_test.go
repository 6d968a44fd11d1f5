package server_test

// Test helpers for the WebSocket tests of package server. They speak PROTOCOL.md directly
// with gorilla/websocket and internal/wire (never with package client), so these tests
// check the server against the specification rather than against our own client.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/leakcheck"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/server"
)

// wsGuard bounds every blocking step of a test. It is a hang guard, never an assertion
// about speed: a healthy run finishes each step in milliseconds.
const wsGuard = 20 * time.Second

// wsEnd is how a session's handler saw its session end.
type wsEnd struct {
	id  string
	err error
}

// wsEnv is one polysock server on a loopback httptest server.
type wsEnv struct {
	t        *testing.T
	srv      *server.Server
	hs       *httptest.Server
	sessions chan *server.Session // every session the handler was given, in order
	ends     chan wsEnd           // how wsEcho handlers saw their session end

	mu       sync.Mutex
	seenEnds map[string]error
}

// newWSEnv starts a server whose handler is h (nil means wsEcho) and registers the
// cleanup: close the test's clients, shut the server down, close the listener, then check
// that no goroutine the test started is left.
func newWSEnv(t *testing.T, h func(e *wsEnv, s *server.Session), opts *server.Options) *wsEnv {
	t.Helper()
	wsLeakCheck(t)
	e := &wsEnv{
		t:        t,
		sessions: make(chan *server.Session, 256),
		ends:     make(chan wsEnd, 256),
		seenEnds: map[string]error{},
	}
	if h == nil {
		h = wsEcho
	}
	e.srv = server.New(func(s *server.Session) {
		select {
		case e.sessions <- s:
		default:
		}
		h(e, s)
	}, opts)
	e.hs = httptest.NewServer(e.srv)
	t.Cleanup(e.hs.Close)
	t.Cleanup(func() {
		// Clients are gone by now; sessions whose carrier loss the server has not
		// noticed yet would wait for their CLOSE answer, so the shutdown is bounded short:
		// the leak check that runs after it is what this cleanup asserts.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return e
}

// wsLeakCheck makes the test fail when goroutines started during it are still running
// after its cleanups (it is registered first, so it runs last).
func wsLeakCheck(t *testing.T) {
	t.Helper()
	leakcheck.Register(t, wsGuard) // registered first, so it runs after the servers' cleanups
}

// wsEcho is the default handler: it echoes every message (until the session is closing)
// and reports how the session ended on e.ends.
func wsEcho(e *wsEnv, s *server.Session) {
	ctx := context.Background()
	for {
		typ, data, err := s.Read(ctx)
		if err != nil {
			e.ends <- wsEnd{id: s.ID(), err: err}
			return
		}
		if err := s.Write(ctx, typ, data); err != nil && !errors.Is(err, server.ErrClosing) {
			e.ends <- wsEnd{id: s.ID(), err: err}
			return
		}
	}
}

// session returns the next session the handler was given.
func (e *wsEnv) session() *server.Session {
	e.t.Helper()
	select {
	case s := <-e.sessions:
		return s
	case <-time.After(wsGuard):
		e.t.Fatal("no session reached the handler")
		return nil
	}
}

// endOf waits until the wsEcho handler of session id saw its session end, and returns the
// *polysock.CloseError its Read or Write returned.
func (e *wsEnv) endOf(id string) *polysock.CloseError {
	e.t.Helper()
	timeout := time.After(wsGuard)
	for {
		e.mu.Lock()
		err, ok := e.seenEnds[id]
		e.mu.Unlock()
		if ok {
			var ce *polysock.CloseError
			if !errors.As(err, &ce) {
				e.t.Fatalf("session %s ended with %v, want a *polysock.CloseError", id, err)
			}
			return ce
		}
		select {
		case end := <-e.ends:
			e.mu.Lock()
			e.seenEnds[end.id] = end.err
			e.mu.Unlock()
		case <-timeout:
			e.t.Fatalf("the handler of session %s never saw it end", id)
		}
	}
}

// url is the endpoint's ws:// URL with query q.
func (e *wsEnv) url(q string) string {
	u := "ws" + strings.TrimPrefix(e.hs.URL, "http") + "/rt"
	if q != "" {
		u += "?" + q
	}
	return u
}

// dial opens a WebSocket to the endpoint with query q and header hdr. The connection is
// closed when the test ends.
func (e *wsEnv) dial(q string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	return e.dialWith(&websocket.Dialer{HandshakeTimeout: wsGuard}, q, hdr)
}

func (e *wsEnv) dialWith(d *websocket.Dialer, q string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wsGuard)
	defer cancel()
	ws, resp, err := d.DialContext(ctx, e.url(q), hdr)
	if ws != nil {
		e.t.Cleanup(func() { ws.Close() })
	}
	return ws, resp, err
}

// mustDial is dial that fails the test on error.
func (e *wsEnv) mustDial(q string) *websocket.Conn {
	e.t.Helper()
	ws, _, err := e.dial(q, nil)
	if err != nil {
		e.t.Fatalf("dial %q: %v", q, err)
	}
	return ws
}

// wsCloseOf reads ws until the server closes it and returns the close frame's code and
// reason. Messages before the close are skipped.
func wsCloseOf(t *testing.T, ws *websocket.Conn) (int, string) {
	t.Helper()
	for {
		ws.SetReadDeadline(time.Now().Add(wsGuard))
		if _, _, err := ws.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("connection ended with %v, want a WebSocket close frame", err)
			}
			return ce.Code, ce.Text
		}
	}
}

// expectWSClose asserts that the server closes ws with code.
func expectWSClose(t *testing.T, ws *websocket.Conn, code int) string {
	t.Helper()
	got, reason := wsCloseOf(t, ws)
	if got != code {
		t.Fatalf("closed with %d %q, want %d", got, reason, code)
	}
	return reason
}

// psConn is a minimal polysock client over one WebSocket, driven by the test goroutine.
type psConn struct {
	t        *testing.T
	ws       *websocket.Conn
	open     wire.Open
	queue    []wire.Frame // decoded frames not yet consumed
	sent     uint64       // client→server messages produced
	accepted uint64       // server→client messages accepted, in order
	lastAck  uint64       // the last ACK count sent
	srvAck   uint64       // the highest ACK received from the server
	autoAck  bool         // ACK at the end of every batch that brought data (PROTOCOL.md 6.3)
	pongs    [][]byte     // PONG payloads received
	pings    int          // PINGs received (each answered with a PONG)
	nonce    int          // makes sync's PING payloads unique
}

// openPS opens a polysock WebSocket carrier (ps_v=1 plus query q) and reads its OPEN.
func (e *wsEnv) openPS(q string) *psConn {
	e.t.Helper()
	return e.openPSHeader(q, nil)
}

// openPSHeader is openPS with request header hdr.
func (e *wsEnv) openPSHeader(q string, hdr http.Header) *psConn {
	e.t.Helper()
	query := "ps_v=1"
	if q != "" {
		query += "&" + q
	}
	ws, _, err := e.dial(query, hdr)
	if err != nil {
		e.t.Fatalf("dial %q: %v", query, err)
	}
	c := &psConn{t: e.t, ws: ws, autoAck: true}
	f := c.frame()
	if f.Type != wire.TypeOpen {
		e.t.Fatalf("first frame is %v, want OPEN", f.Type)
	}
	o, err := wire.DecodeOpen(f.Data)
	if err != nil {
		e.t.Fatalf("OPEN: %v", err)
	}
	c.open = o
	return c
}

// resume opens a new carrier for c's session, as a client does after losing one: the
// client keeps its counters, the server sends OPEN (resumed) and replays.
func (e *wsEnv) resume(c *psConn) *psConn {
	e.t.Helper()
	n := e.openPS(fmt.Sprintf("ps_sid=%s&ps_tok=%s&ps_ack=%d", c.open.Session, c.open.Token, c.accepted))
	n.sent, n.accepted, n.lastAck, n.srvAck = c.sent, c.accepted, c.accepted, c.srvAck
	return n
}

// next returns the next frame, or the connection's error.
func (c *psConn) next() (wire.Frame, error) {
	for len(c.queue) == 0 {
		c.ws.SetReadDeadline(time.Now().Add(wsGuard))
		typ, batch, err := c.ws.ReadMessage()
		if err != nil {
			return wire.Frame{}, err
		}
		if typ != websocket.BinaryMessage {
			c.t.Fatalf("server sent a WebSocket message of type %d, want binary (PROTOCOL.md 4.3)", typ)
		}
		if len(batch) == 0 {
			c.t.Fatal("server sent an empty batch")
		}
		if err := wire.DecodeBatch(batch, func(f *wire.Frame) error {
			c.queue = append(c.queue, *f)
			return nil
		}); err != nil {
			c.t.Fatalf("server sent a malformed batch: %v", err)
		}
	}
	f := c.queue[0]
	c.queue = c.queue[1:]
	return f, nil
}

// frame is next that fails the test on error.
func (c *psConn) frame() wire.Frame {
	c.t.Helper()
	f, err := c.next()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

// send writes frames as one batch.
func (c *psConn) send(frames ...wire.Frame) {
	c.t.Helper()
	var b []byte
	for i := range frames {
		b = wire.AppendBinary(b, &frames[i])
	}
	c.sendRaw(b)
}

// sendRaw writes b as one binary WebSocket message.
func (c *psConn) sendRaw(b []byte) {
	c.t.Helper()
	c.ws.SetWriteDeadline(time.Now().Add(wsGuard))
	if err := c.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// msg returns the next client→server data frame.
func (c *psConn) msg(typ polysock.MessageType, data []byte) wire.Frame {
	c.sent++
	t := wire.TypeBinary
	if typ == polysock.Text {
		t = wire.TypeText
	}
	return wire.Frame{Type: t, Seq: c.sent, Data: data}
}

func (c *psConn) text(s string) wire.Frame { return c.msg(polysock.Text, []byte(s)) }

// ackFrame acknowledges every message accepted so far.
func (c *psConn) ackFrame() wire.Frame {
	c.lastAck = c.accepted
	return wire.Frame{Type: wire.TypeAck, Seq: c.accepted}
}

// step returns the next data, PONG or CLOSE frame, handling the others on the way: it
// checks sequence numbers (PROTOCOL.md 6.1), records ACKs, answers PINGs, and ACKs at the
// end of a batch that brought data when autoAck is set.
func (c *psConn) step() (wire.Frame, error) {
	c.t.Helper()
	for {
		f, err := c.next()
		if err != nil {
			return f, err
		}
		switch f.Type {
		case wire.TypeText, wire.TypeBinary:
			if f.Seq != c.accepted+1 {
				c.t.Fatalf("server message with seq %d after %d accepted: want %d", f.Seq, c.accepted, c.accepted+1)
			}
			c.accepted++
			if c.autoAck && (len(c.queue) == 0 || c.accepted-c.lastAck >= 64) {
				c.send(c.ackFrame())
			}
			return f, nil
		case wire.TypeAck:
			if f.Seq > c.sent {
				c.t.Fatalf("server ACKed %d, beyond the %d messages sent", f.Seq, c.sent)
			}
			c.srvAck = max(c.srvAck, f.Seq)
		case wire.TypePing:
			c.pings++
			c.send(wire.Frame{Type: wire.TypePong, Data: f.Data})
		case wire.TypePong:
			c.pongs = append(c.pongs, f.Data)
			return f, nil
		case wire.TypePad:
		case wire.TypeClose:
			return f, nil
		default:
			c.t.Fatalf("unexpected %v frame", f.Type)
		}
	}
}

// read returns the next server message. A CLOSE frame is returned as a *closeFrame error,
// a connection error as is.
func (c *psConn) read() (polysock.MessageType, []byte, error) {
	c.t.Helper()
	for {
		f, err := c.step()
		if err != nil {
			return 0, nil, err
		}
		switch f.Type {
		case wire.TypeText:
			return polysock.Text, f.Data, nil
		case wire.TypeBinary:
			return polysock.Binary, f.Data, nil
		case wire.TypeClose:
			return 0, nil, &closeFrame{code: int(f.Code), reason: string(f.Data)}
		}
	}
}

// closeFrame is a polysock CLOSE frame the server sent.
type closeFrame struct {
	code   int
	reason string
}

func (e *closeFrame) Error() string { return fmt.Sprintf("CLOSE %d %q", e.code, e.reason) }

// mustRead is read that fails the test on error.
func (c *psConn) mustRead() (polysock.MessageType, []byte) {
	c.t.Helper()
	typ, data, err := c.read()
	if err != nil {
		c.t.Fatalf("read message: %v", err)
	}
	return typ, data
}

// echo sends one message and expects it back, type and bytes intact.
func (c *psConn) echo(typ polysock.MessageType, data []byte) {
	c.t.Helper()
	c.send(c.msg(typ, data))
	gotTyp, got := c.mustRead()
	if gotTyp != typ || string(got) != string(data) {
		c.t.Fatalf("echo: got %v %q (%d bytes), want %v %q (%d bytes)",
			gotTyp, abbrev(got), len(got), typ, abbrev(data), len(data))
	}
}

// sync sends extra and a PING with a fresh payload in one batch, and reads until the
// PONG: every frame sent before it has then been processed by the server. The messages
// read meanwhile are returned.
func (c *psConn) sync(extra ...wire.Frame) [][]byte {
	c.t.Helper()
	c.nonce++
	payload := []byte(fmt.Sprintf("sync-%d", c.nonce))
	c.send(append(extra, wire.Frame{Type: wire.TypePing, Data: payload})...)
	var msgs [][]byte
	for {
		f, err := c.step()
		if err != nil {
			c.t.Fatalf("sync: %v", err)
		}
		switch {
		case f.Type.IsData():
			msgs = append(msgs, f.Data)
		case f.Type == wire.TypePong && string(f.Data) == string(payload):
			return msgs
		case f.Type == wire.TypeClose:
			c.t.Fatalf("sync: server sent CLOSE %d %q", f.Code, f.Data)
		}
	}
}

// closeOf reads until the session's end is signalled and returns the code and reason:
// from a CLOSE frame (frame true) or from the WebSocket close (frame false). Messages on
// the way are skipped.
func (c *psConn) closeOf() (code int, reason string, frame bool) {
	c.t.Helper()
	for {
		_, _, err := c.read()
		if err == nil {
			continue
		}
		var cf *closeFrame
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &cf):
			return cf.code, cf.reason, true
		case errors.As(err, &ce):
			return ce.Code, ce.Text, false
		}
		c.t.Fatalf("connection ended with %v, want a close", err)
	}
}

// expectClose asserts that the session is closed with code, by a CLOSE frame or the
// WebSocket close.
func (c *psConn) expectClose(code int) string {
	c.t.Helper()
	got, reason, _ := c.closeOf()
	if got != code {
		c.t.Fatalf("closed with %d %q, want %d", got, reason, code)
	}
	return reason
}

// drop loses the connection without any close frame, as a network failure does.
func (c *psConn) drop() { c.ws.Close() }

// waitFor polls cond until it holds, failing after the hang guard.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wsGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// isNetTimeout reports whether err is a read deadline expiring (the hang guard).
func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func abbrev(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// timeNowGuard is the hang-guard deadline for a read or write starting now.
func timeNowGuard() time.Time { return time.Now().Add(wsGuard) }

// waitDone waits until ctx is done, failing after the hang guard.
func waitDone(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(wsGuard):
		t.Fatal("context not done")
	}
}
