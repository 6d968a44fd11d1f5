package framers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock/bench/loadgen"
)

// SocketIO speaks Socket.IO v5 over Engine.IO v4 to the Node server
// (bench/socketio/server.mjs) at /socket.io/, on WebSocket (Polling false: one frame per
// packet) or HTTP long-polling (Polling true: held GETs whose answers carry packets
// separated by 0x1e, POSTs carrying the packets of one Send, one POST at a time as
// Engine.IO requires). Each message is the event `42["echo","<message>"]`; the server
// emits it back the same way. Pings ("2") are answered with pongs ("3").
type SocketIO struct{ Polling bool }

func (s SocketIO) Name() string {
	if s.Polling {
		return "socketio/polling"
	}
	return "socketio/websocket"
}

const sioPath = "/socket.io/?EIO=4&transport="

func (s SocketIO) Dial(ctx context.Context, base string) (loadgen.Conn, error) {
	if s.Polling {
		return dialSIOPolling(ctx, base)
	}
	c, err := dialWS(ctx, wsURL(base, sioPath+"websocket"))
	if err != nil {
		return nil, err
	}
	fail := func(err error) (loadgen.Conn, error) {
		c.Close()
		return nil, fmt.Errorf("failed to open a Socket.IO session: %w", err)
	}
	b, err := c.read(ctx)
	if err != nil {
		return fail(err)
	}
	if len(b) == 0 || b[0] != '0' {
		return fail(fmt.Errorf("expected the Engine.IO open packet, got %.60q", b))
	}
	if err := c.write(websocket.TextMessage, []byte("40")); err != nil {
		return fail(err)
	}
	conn := &sioWSConn{wsConn: c}
	if b, err = conn.packet(ctx); err != nil {
		return fail(err)
	}
	if len(b) == 0 || b[0] != '0' { // Socket.IO CONNECT (the Engine.IO type is stripped)
		return fail(fmt.Errorf("expected the Socket.IO connect packet, got %.60q", b))
	}
	return conn, nil
}

type sioWSConn struct{ *wsConn }

func (s *sioWSConn) Send(_ context.Context, msgs ...[]byte) error {
	for _, m := range msgs {
		if err := s.write(websocket.TextMessage, sioEvent(nil, m)); err != nil {
			return err
		}
	}
	return nil
}

// packet returns the next Socket.IO packet, answering pings.
func (s *sioWSConn) packet(ctx context.Context) ([]byte, error) {
	for {
		b, err := s.read(ctx)
		if err != nil {
			return nil, err
		}
		switch {
		case len(b) == 0:
			return nil, errors.New("empty Engine.IO packet")
		case b[0] == '2':
			if err := s.write(websocket.TextMessage, []byte("3")); err != nil {
				return nil, err
			}
		case b[0] == '4':
			return b[1:], nil
		case b[0] == '1':
			return nil, errors.New("Engine.IO close packet")
		}
	}
}

func (s *sioWSConn) Recv(ctx context.Context) ([]byte, error) {
	b, err := s.packet(ctx)
	if err != nil {
		return nil, err
	}
	return sioMessage(b)
}

var sioPrefix = []byte(`2["echo",`)

// sioEvent appends the Engine.IO message packet carrying the Socket.IO event
// ["echo", m]: 42["echo","m"].
func sioEvent(dst, m []byte) []byte {
	dst = append(dst, '4')
	dst = append(dst, sioPrefix...)
	s, _ := json.Marshal(string(m)) // strings always marshal
	dst = append(dst, s...)
	return append(dst, ']')
}

// sioMessage decodes a Socket.IO packet (Engine.IO type stripped) that must be the event
// 2["echo","…"] and returns the message.
func sioMessage(p []byte) ([]byte, error) {
	if !bytes.HasPrefix(p, sioPrefix) {
		return nil, fmt.Errorf("unexpected Socket.IO packet %.60q", p)
	}
	var args []json.RawMessage
	if err := json.Unmarshal(p[1:], &args); err != nil || len(args) != 2 {
		return nil, fmt.Errorf("bad Socket.IO event %.60q", p)
	}
	var m string
	if err := json.Unmarshal(args[1], &m); err != nil {
		return nil, fmt.Errorf("bad Socket.IO event argument %.60q", args[1])
	}
	return []byte(m), nil
}

// sioPollConn is a Socket.IO session on Engine.IO long-polling.
type sioPollConn struct {
	*inbox
	url  string     // base + sioPath + "polling&sid=…"
	post sync.Mutex // Engine.IO allows one POST at a time
}

func dialSIOPolling(ctx context.Context, base string) (loadgen.Conn, error) {
	b, err := do(ctx, http.MethodGet, base+sioPath+"polling", "", nil, http.StatusOK)
	if err != nil {
		return nil, fmt.Errorf("failed to open a Socket.IO session: %w", err)
	}
	if len(b) == 0 || b[0] != '0' {
		return nil, fmt.Errorf("failed to open a Socket.IO session: expected the open packet, got %.60q", b)
	}
	var open struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(b[1:], &open); err != nil || open.SID == "" {
		return nil, fmt.Errorf("failed to open a Socket.IO session: bad open packet %.60q", b)
	}
	c := &sioPollConn{inbox: newInbox(), url: base + sioPath + "polling&sid=" + open.SID}
	if err := c.send(ctx, []byte("40")); err != nil {
		c.Close()
		return nil, fmt.Errorf("failed to open a Socket.IO session: %w", err)
	}
	connected := make(chan error, 1)
	go c.poll(connected)
	select {
	case err = <-connected:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("failed to open a Socket.IO session: %w", err)
	}
	return c, nil
}

// poll issues the held GETs one after the other; connected gets the outcome of the
// Socket.IO connect.
func (c *sioPollConn) poll(connected chan<- error) {
	report := func(err error) {
		select {
		case connected <- err:
		default:
		}
	}
	for {
		b, err := do(c.ctx, http.MethodGet, c.url, "", nil, http.StatusOK)
		if err != nil {
			report(err)
			c.fail(err)
			return
		}
		for _, p := range bytes.Split(b, []byte{0x1e}) {
			if err := c.packet(p, report); err != nil {
				report(err)
				c.fail(err)
				return
			}
		}
	}
}

func (c *sioPollConn) packet(p []byte, connected func(error)) error {
	switch {
	case len(p) == 0:
		return errors.New("empty Engine.IO packet")
	case p[0] == '2':
		return c.send(c.ctx, []byte("3"))
	case p[0] == '6':
		return nil // noop
	case p[0] == '1':
		return errors.New("Engine.IO close packet")
	case bytes.HasPrefix(p, []byte("40")):
		connected(nil)
		return nil
	case p[0] == '4':
		m, err := sioMessage(p[1:])
		if err != nil {
			return err
		}
		if !c.deliver(m) {
			return errors.New("closed")
		}
		return nil
	}
	return fmt.Errorf("unexpected Engine.IO packet %.60q", p)
}

// send POSTs packets joined by 0x1e.
func (c *sioPollConn) send(ctx context.Context, packets ...[]byte) error {
	c.post.Lock()
	defer c.post.Unlock()
	_, err := post(ctx, c.url, "text/plain;charset=UTF-8", bytes.Join(packets, []byte{0x1e}), http.StatusOK)
	return err
}

func (c *sioPollConn) Send(ctx context.Context, msgs ...[]byte) error {
	packets := make([][]byte, len(msgs))
	for i, m := range msgs {
		packets[i] = sioEvent(nil, m)
	}
	return c.send(ctx, packets...)
}
