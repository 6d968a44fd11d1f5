package server_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/server"
)

// slowSessions is how many WebSocket sessions TestSlowConsumer runs at once.
const slowSessions = 1000

// One stalled reader among 1,000 active WebSocket sessions: the server broadcasts one
// message per round to every session and waits, each round, until every other client
// has acknowledged it. The stalled client stops reading its socket after OPEN, so its
// outbox passes OutboxBytes and the session is closed with 4008, which the client finds
// after the messages it had not read. Every other session receives every message, in
// order, and stays open. The session closed with 4008 has ended: resuming it gets 4004
// (PROTOCOL.md 9: the client may open a new session).
func TestSlowConsumer(t *testing.T) {
	const (
		outbox  = 16 << 10
		msgSize = 1 << 10
		rounds  = 3 * outbox / msgSize // the stalled session fails after outbox/msgSize
	)
	var mu sync.Mutex
	byID := map[string]*server.Session{}
	e := newWSEnv(t, func(e *wsEnv, s *server.Session) {
		mu.Lock()
		byID[s.ID()] = s
		mu.Unlock()
		for {
			if _, _, err := s.Read(context.Background()); err != nil {
				return
			}
		}
	}, &server.Options{OutboxBytes: outbox, MaxSessionsPerClient: 2 * slowSessions, CloseTimeout: 100 * time.Millisecond})

	url := "ws" + strings.TrimPrefix(e.hs.URL, "http") + "/ws?ps_v=1"
	clients := make([]*slowClient, slowSessions)
	for i := range clients {
		c, err := dialSlowClient(url)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		clients[i] = c
	}
	defer func() {
		for _, c := range clients {
			c.ws.Close()
		}
	}()
	stalled := clients[slowSessions/2]
	var wg sync.WaitGroup
	for _, c := range clients {
		if c != stalled {
			wg.Add(1)
			go func() { defer wg.Done(); c.run() }()
		}
	}
	sessions := make([]*server.Session, len(clients))
	deadline := time.Now().Add(wsGuard)
	for i, c := range clients {
		for {
			mu.Lock()
			sessions[i] = byID[c.open.Session]
			mu.Unlock()
			if sessions[i] != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("session of client %d did not reach the handler", i)
			}
			time.Sleep(time.Millisecond)
		}
	}

	var stalledErr error
	payload := make([]byte, msgSize)
	for round := range rounds {
		binary.BigEndian.PutUint32(payload, uint32(round))
		for i, s := range sessions {
			if clients[i] == stalled && stalledErr != nil {
				continue
			}
			if err := s.Write(context.Background(), polysock.Binary, payload); err != nil {
				if clients[i] != stalled {
					t.Fatalf("round %d: Write to an active session: %v", round, err)
				}
				stalledErr = err
			}
		}
		// Every active client acknowledged the round before the next one.
		for i, s := range sessions {
			if clients[i] == stalled {
				continue
			}
			for s.Buffered() > 0 {
				if err := clients[i].failed(); err != nil {
					t.Fatalf("round %d, client %d: %v", round, i, err)
				}
				if time.Now().After(deadline.Add(wsGuard)) {
					t.Fatalf("round %d: client %d did not acknowledge", round, i)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	if polysock.CloseStatus(stalledErr) != polysock.ClosePeerTooSlow {
		t.Fatalf("Write to the stalled session: %v, want 4008", stalledErr)
	}
	// The stalled client reads at last (without answering: the server has dropped the
	// connection by now): the messages it missed, then 4008.
	stalled.silent = true
	stalled.run()
	if got := polysock.CloseStatus(stalled.err); got != polysock.ClosePeerTooSlow {
		t.Fatalf("stalled client ended with %v, want 4008", stalled.err)
	}
	if n := stalled.recv.Load(); n < 1 || n > outbox/msgSize+1 {
		t.Fatalf("stalled client got %d messages before 4008", n)
	}
	// Nobody else was harmed: all open, every message received once and in order.
	for i, c := range clients {
		if c == stalled {
			continue
		}
		if err := c.failed(); err != nil || c.recv.Load() != rounds {
			t.Fatalf("client %d: %d of %d messages, %v", i, c.recv.Load(), rounds, err)
		}
		if err := sessions[i].Context().Err(); err != nil {
			t.Fatalf("session of client %d ended", i)
		}
	}
	// The session closed with 4008 cannot be resumed.
	ws := e.mustDial(fmt.Sprintf("ps_v=1&ps_sid=%s&ps_tok=%s&ps_ack=%d", stalled.open.Session, stalled.open.Token, stalled.recv.Load()))
	expectWSClose(t, ws, polysock.CloseUnknownSession)
	for _, c := range clients {
		c.ws.Close()
	}
	wg.Wait()
}

// slowClient is a minimal polysock WebSocket client: it reads batches, checks that data
// messages come in order (each one's first 4 bytes are its round), acknowledges each, and
// answers PINGs.
type slowClient struct {
	ws   *websocket.Conn
	open wire.Open
	recv atomic.Uint64
	done atomic.Bool // run returned
	err  error       // why run returned (read once done)
	// silent: run only reads, it sends no ACK or PONG
	silent bool
}

func dialSlowClient(url string) (*slowClient, error) {
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	_ = ws.SetReadDeadline(time.Now().Add(3 * wsGuard)) // hang guard
	_, b, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return nil, err
	}
	c := &slowClient{ws: ws}
	err = wire.DecodeBatch(b, func(f *wire.Frame) error {
		if f.Type != wire.TypeOpen {
			return fmt.Errorf("frame %v before OPEN", f.Type)
		}
		c.open, err = wire.DecodeOpen(f.Data)
		return err
	})
	if err != nil {
		ws.Close()
		return nil, err
	}
	return c, nil
}

// failed reports why run has returned, or nil while it runs.
func (c *slowClient) failed() error {
	if !c.done.Load() {
		return nil
	}
	if c.err == nil {
		return errors.New("client stopped")
	}
	return c.err
}

// run reads until the session or the connection ends; c.err says how.
func (c *slowClient) run() {
	defer c.done.Store(true)
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				err = &polysock.CloseError{Code: ce.Code, Reason: ce.Text}
			}
			c.err = err
			return
		}
		var out []byte
		err = wire.DecodeBatch(b, func(f *wire.Frame) error {
			switch f.Type {
			case wire.TypeBinary:
				n := c.recv.Load()
				if f.Seq != n+1 || len(f.Data) < 4 || binary.BigEndian.Uint32(f.Data) != uint32(n) {
					return fmt.Errorf("message %d (round %d) after %d", f.Seq, binary.BigEndian.Uint32(f.Data), n)
				}
				c.recv.Store(n + 1)
				out = wire.AppendBinary(out, &wire.Frame{Type: wire.TypeAck, Seq: n + 1})
			case wire.TypePing:
				out = wire.AppendBinary(out, &wire.Frame{Type: wire.TypePong, Data: f.Data})
			case wire.TypeClose:
				return &polysock.CloseError{Code: int(f.Code), Reason: string(f.Data)}
			}
			return nil
		})
		if err == nil && len(out) > 0 && !c.silent {
			err = c.ws.WriteMessage(websocket.BinaryMessage, out)
		}
		if err != nil {
			c.err = err
			return
		}
	}
}

// A subscriber whose connection is full (the client reads nothing and both ends' socket
// buffers are small, so the session's writer is blocked in a network write) is dropped
// with 4008 without holding up the publisher: Publish delivers through Session.Write,
// which never waits for the network, even when it ends the session. WriteTimeout is far
// beyond the hang guard, so a Publish that waited for the blocked writer would fail the
// test.
func TestSlowSubscriberDoesNotBlockPublish(t *testing.T) {
	const msgSize = 64 << 10
	wsLeakCheck(t)
	subscribed := make(chan *server.Session, 1)
	srv := server.New(func(s *server.Session) {
		if err := s.Subscribe(s.Context(), "t"); err != nil {
			return
		}
		subscribed <- s
		<-s.Context().Done()
	}, &server.Options{OutboxBytes: 1 << 20, WriteTimeout: time.Hour})
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ConnState = func(c net.Conn, state http.ConnState) {
		if state == http.StateNew {
			_ = c.(*net.TCPConn).SetWriteBuffer(4 << 10)
		}
	}
	hs.Start()
	defer hs.Close()
	d := &websocket.Dialer{HandshakeTimeout: wsGuard, NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if err == nil {
			_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
		}
		return c, err
	}}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/rt?ps_v=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var s *server.Session
	select {
	case s = <-subscribed:
	case <-time.After(wsGuard):
		t.Fatal("the session did not subscribe")
	}
	published := make(chan error, 1)
	go func() {
		payload := make([]byte, msgSize)
		for s.Context().Err() == nil {
			if err := srv.Publish(context.Background(), "t", polysock.Binary, payload); err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()
	select {
	case err := <-published:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wsGuard):
		ws.Close() // unblocks the writer, and so the publisher, for the cleanup
		<-published
		t.Fatal("Publish blocked on a subscriber whose connection is full")
	}
	if err := s.Subscribe(context.Background(), "t"); polysock.CloseStatus(err) != polysock.ClosePeerTooSlow {
		t.Fatalf("the session ended with %v, want 4008", err)
	}
}
