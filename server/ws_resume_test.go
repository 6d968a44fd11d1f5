package server_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/server"
)

// A carrier lost without CLOSE is resumed on a new one: OPEN says resumed with the
// server's count, the server replays from ps_ack+1, the client resends what the server
// has not accepted, and the application sees every message exactly once, in order.
func TestWebSocketResume(t *testing.T) {
	got := make(chan string, 100)
	e := newWSEnv(t, func(e *wsEnv, s *server.Session) {
		ctx := context.Background()
		for {
			_, data, err := s.Read(ctx)
			if err != nil {
				close(got)
				return
			}
			got <- string(data)
			if err := s.Write(ctx, polysock.Text, []byte("echo "+string(data))); err != nil {
				return
			}
		}
	}, nil)
	c := e.openPS("")
	c.autoAck = false // nothing is acknowledged: everything must survive the loss
	s := e.session()
	c.send(c.text("m1"), c.text("m2"), c.text("m3"))
	for i := 1; i <= 3; i++ {
		if m := <-got; m != fmt.Sprint("m", i) {
			t.Fatalf("handler read %q, want m%d", m, i)
		}
	}
	if _, data := c.mustRead(); string(data) != "echo m1" {
		t.Fatalf("got %q, want echo m1", data)
	}
	// The client accepted echo m1 only; echo m2 and echo m3 may be in flight.
	c.drop()

	r := e.resume(c)
	if !r.open.Resumed || r.open.Session != c.open.Session || r.open.Ack != 3 {
		t.Fatalf("resume OPEN = %+v, want resumed, the same sid, ack 3", r.open)
	}
	if r.open.Token != c.open.Token || r.open.Transport != polysock.TransportWebSocket {
		t.Fatalf("resume OPEN = %+v, want the same token and transport websocket", r.open)
	}
	// A careless client resends everything from 1: the server drops what it already has.
	r.send(
		wire.Frame{Type: wire.TypeText, Seq: 1, Data: []byte("m1")},
		wire.Frame{Type: wire.TypeText, Seq: 2, Data: []byte("m2")},
		wire.Frame{Type: wire.TypeText, Seq: 3, Data: []byte("m3")},
		r.text("m4"), r.text("m5"))
	for _, want := range []string{"echo m2", "echo m3", "echo m4", "echo m5"} {
		if _, data := r.mustRead(); string(data) != want {
			t.Fatalf("after resume got %q, want %q", data, want)
		}
	}
	for i := 4; i <= 5; i++ {
		if m := <-got; m != fmt.Sprint("m", i) {
			t.Fatalf("handler read %q, want m%d (a duplicate or a loss)", m, i)
		}
	}
	r.sync(r.ackFrame())
	if b := s.Buffered(); b != 0 {
		t.Fatalf("Buffered() = %d after the client acknowledged everything, want 0", b)
	}
	if st := e.srv.Stats(); st.Opened != 1 || st.Resumed != 1 || st.Sessions != 1 {
		t.Fatalf("Stats() = %+v, want 1 opened, 1 resumed, 1 live", st)
	}
	if len(got) != 0 {
		t.Fatalf("handler read %q: a duplicate", <-got)
	}

	// A second loss and resume, this time after a clean exchange.
	r.drop()
	r2 := e.resume(r)
	if !r2.open.Resumed || r2.open.Ack != 5 {
		t.Fatalf("second resume OPEN = %+v, want resumed, ack 5", r2.open)
	}
	r2.echoPrefixed("m6")
}

// echoPrefixed sends text m and expects "echo m".
func (c *psConn) echoPrefixed(m string) {
	c.t.Helper()
	c.send(c.text(m))
	if _, data := c.mustRead(); string(data) != "echo "+m {
		c.t.Fatalf("got %q, want %q", data, "echo "+m)
	}
}

// A resuming carrier replaces the current one, which gets WebSocket close 4005.
func TestWebSocketResumeReplacesCarrier(t *testing.T) {
	e := newWSEnv(t, nil, nil)
	old := e.openPS("")
	old.echo(polysock.Text, []byte("on the old carrier"))
	r := e.resume(old)
	if !r.open.Resumed || r.open.Ack != 1 {
		t.Fatalf("OPEN = %+v, want resumed, ack 1", r.open)
	}
	reason := expectWSClose(t, old.ws, polysock.CloseReplaced)
	if reason == "" {
		t.Fatal("4005 without a reason")
	}
	r.echo(polysock.Binary, []byte("on the new carrier"))
	if st := e.srv.Stats(); st.Sessions != 1 || st.Opened != 1 || st.Resumed != 1 {
		t.Fatalf("Stats() = %+v, want one session, opened once, resumed once", st)
	}
}

// A resume with a ps_ack above what the server sent is impossible: protocol error.
func TestWebSocketResumeImpossibleAck(t *testing.T) {
	e := newWSEnv(t, nil, nil)
	c := e.openPS("")
	c.echo(polysock.Text, []byte("one"))
	c.drop()
	c.accepted = 2 // the server sent one message only
	ws := e.mustDial(fmt.Sprintf("ps_v=1&ps_sid=%s&ps_tok=%s&ps_ack=2", c.open.Session, c.open.Token))
	expectWSClose(t, ws, polysock.CloseProtocolError)
	if ce := e.endOf(c.open.Session); ce.Code != polysock.CloseProtocolError {
		t.Fatalf("handler saw %+v, want 1002", ce)
	}
}

// Past the resume window the session ends with 4006, and a later resume gets 4004.
func TestWebSocketResumeWindowExpires(t *testing.T) {
	e := newWSEnv(t, nil, &server.Options{ResumeWindow: 50 * time.Millisecond})
	c := e.openPS("")
	if c.open.Resume != 50 {
		t.Fatalf("OPEN resume = %d, want 50", c.open.Resume)
	}
	c.echo(polysock.Text, []byte("hello"))
	c.drop()
	ce := e.endOf(c.open.Session)
	if ce.Code != polysock.CloseResumeExpired || ce.WasClean {
		t.Fatalf("handler saw %+v, want 4006, not clean", ce)
	}
	if st := e.srv.Stats(); st.Sessions != 0 {
		t.Fatalf("Stats() = %+v after the session expired, want no session", st)
	}
	ws := e.mustDial(fmt.Sprintf("ps_v=1&ps_sid=%s&ps_tok=%s&ps_ack=1", c.open.Session, c.open.Token))
	expectWSClose(t, ws, polysock.CloseUnknownSession)
}

// Messages the application writes while the client has no carrier are delivered on the
// resumed one.
func TestWebSocketResumeDeliversWritesMadeWhileAway(t *testing.T) {
	e := newWSEnv(t, nil, nil)
	c := e.openPS("")
	s := e.session()
	c.echo(polysock.Text, []byte("hello"))
	c.drop()
	// Once the server noticed the loss, the session has no carrier; Write still works.
	for i := range 3 {
		if err := s.Write(context.Background(), polysock.Text, []byte(fmt.Sprint("away ", i))); err != nil {
			t.Fatalf("Write without a carrier: %v", err)
		}
	}
	r := e.resume(c)
	for i := range 3 {
		if _, data := r.mustRead(); string(data) != fmt.Sprint("away ", i) {
			t.Fatalf("got %q, want %q", data, fmt.Sprint("away ", i))
		}
	}
}

// The server sends PING frames on an idle carrier.
func TestWebSocketHeartbeat(t *testing.T) {
	e := newWSEnv(t, nil, &server.Options{PingInterval: 20 * time.Millisecond})
	c := e.openPS("")
	if c.open.Ping != 20 {
		t.Fatalf("OPEN ping = %d, want 20", c.open.Ping)
	}
	for c.pings < 3 { // step answers each PING with a PONG
		f := c.frame()
		switch f.Type {
		case wire.TypePing:
			c.pings++
			c.send(wire.Frame{Type: wire.TypePong, Data: f.Data})
		case wire.TypeClose:
			t.Fatalf("unexpected CLOSE %d", f.Code)
		}
	}
	c.echo(polysock.Text, []byte("alive"))
}

// A PING from the client gets a PONG with the same payload.
func TestWebSocketPingPong(t *testing.T) {
	e := newWSEnv(t, nil, nil)
	c := e.openPS("")
	for _, payload := range [][]byte{nil, []byte("abc"), make([]byte, 125)} {
		c.send(wire.Frame{Type: wire.TypePing, Data: payload})
		for {
			f := c.frame()
			if f.Type == wire.TypePong {
				if string(f.Data) != string(payload) {
					t.Fatalf("PONG %q, want %q", f.Data, payload)
				}
				break
			}
		}
	}
	// PINGs answered in one batch keep their order.
	c.send(wire.Frame{Type: wire.TypePing, Data: []byte("1")}, wire.Frame{Type: wire.TypePing, Data: []byte("2")})
	for _, want := range []string{"1", "2"} {
		if f := c.frame(); f.Type != wire.TypePong || string(f.Data) != want {
			t.Fatalf("got %v %q, want PONG %q", f.Type, f.Data, want)
		}
	}
}

// A carrier the server has not heard from for IdleTimeout is dropped; the session stays
// resumable and nothing is lost.
func TestWebSocketIdleTimeout(t *testing.T) {
	e := newWSEnv(t, func(e *wsEnv, s *server.Session) {
		_ = s.Write(context.Background(), polysock.Text, []byte("hello"))
		wsEcho(e, s)
	}, &server.Options{IdleTimeout: 100 * time.Millisecond})
	c := e.openPS("")
	if c.open.Timeout != 100 {
		t.Fatalf("OPEN timeout = %d, want 100", c.open.Timeout)
	}
	s := e.session()
	// Stay silent (no ACK, no PONG) until the server drops the connection.
	for {
		_, err := c.next()
		if err == nil {
			continue
		}
		if isNetTimeout(err) {
			t.Fatal("the server never dropped the silent carrier")
		}
		break
	}
	if err := s.Context().Err(); err != nil {
		t.Fatalf("the session ended with its carrier: %v", err)
	}
	// The resumed carrier gets OPEN, then the unacknowledged message again. Both are sent
	// at once, so the short idle timeout cannot interfere.
	r := e.resume(c)
	r.autoAck = false // the server may drop this silent carrier too, at any moment
	if !r.open.Resumed || r.open.Session != c.open.Session {
		t.Fatalf("OPEN = %+v, want the session resumed", r.open)
	}
	if _, data := r.mustRead(); string(data) != "hello" {
		t.Fatalf("got %q, want the replayed hello", data)
	}
}

// Cancelling the context of a Read aborts that Read only; the session goes on.
func TestWebSocketReadAfterCtxCancel(t *testing.T) {
	result := make(chan error, 2)
	e := newWSEnv(t, func(e *wsEnv, s *server.Session) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err := s.Read(ctx)
		result <- err // the cancelled context aborts this Read only
		_, data, err := s.Read(context.Background())
		if err == nil && string(data) != "next" {
			err = fmt.Errorf("read %q, want next", data)
		}
		result <- err
		wsEcho(e, s)
	}, nil)
	c := e.openPS("")
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with a cancelled context = %v, want context.Canceled", err)
	}
	c.send(c.text("next"))
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	c.echo(polysock.Text, []byte("session goes on"))
}

// TestWebSocketAckDuringTrickle: a client sending a message every 20 ms to a handler that
// never writes is acknowledged while it is still sending, not only once it stops
// (PROTOCOL.md 6, rule 3: within 100 ms of accepting an unacknowledged message).
func TestWebSocketAckDuringTrickle(t *testing.T) {
	e := newWSEnv(t, func(e *wsEnv, s *server.Session) {
		for {
			if _, _, err := s.Read(context.Background()); err != nil {
				return
			}
		}
	}, nil)
	c := e.openPS("")
	const total = 50 // below the 64-message trigger: only the timer can send the ACK
	var sentWhenAcked atomic.Int64
	sentWhenAcked.Store(-1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			f, err := c.next()
			if err != nil {
				return
			}
			if f.Type == wire.TypeAck {
				sentWhenAcked.CompareAndSwap(-1, int64(f.Seq))
				return
			}
		}
	}()
	for i := range total {
		b := wire.AppendBinary(nil, &wire.Frame{Type: wire.TypeText, Seq: uint64(i + 1), Data: []byte("drip")})
		c.ws.SetWriteDeadline(time.Now().Add(wsGuard))
		if err := c.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		if sentWhenAcked.Load() >= 0 {
			break
		}
	}
	<-done
	if n := sentWhenAcked.Load(); n < 1 || n >= total {
		t.Fatalf("first ACK covered %d of %d messages: the server held its ACK back until the trickle stopped", n, total)
	}
}
