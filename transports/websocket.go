package transports

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock/internal/wire"
)

// writeBufferPool shares WebSocket write buffers between connections: an idle connection
// holds none.
var writeBufferPool = &sync.Pool{}

// smallBatch is the largest batch (binary form, bytes) that Send assembles in a pooled
// buffer before writing it; a larger one is streamed into gorilla's message writer.
const smallBatch = 16 << 10

var smallBatchPool = sync.Pool{New: func() any { b := make([]byte, 0, smallBatch); return &b }}

// readBufferSize is the size of each connection's read buffer (made by ownReader, in
// readwait.go). A buffer of its own, instead of net/http's 4 KiB one kept for the life of
// the connection, saves most of what an idle connection costs. The price is read
// calls: a batch larger than the buffer takes one or two more (docs/BENCHMARKS.md,
// "Memory per idle WebSocket session").
const readBufferSize = 512

// WebSocketUpgrader upgrades HTTP requests to WebSocket carriers. The zero value is not
// usable; call NewWebSocketUpgrader.
type WebSocketUpgrader struct {
	up websocket.Upgrader
}

// NewWebSocketUpgrader returns an upgrader. The caller checks the origin before calling
// Upgrade (so that the same policy serves WebSocket and CORS); the upgrader itself accepts
// every origin. handshakeTimeout bounds the handshake.
func NewWebSocketUpgrader(handshakeTimeout time.Duration) *WebSocketUpgrader {
	return &WebSocketUpgrader{up: websocket.Upgrader{
		HandshakeTimeout: handshakeTimeout,
		ReadBufferSize:   0, // gorilla reuses the reader ownReader hands it
		WriteBufferPool:  writeBufferPool,
		CheckOrigin:      func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			WriteError(w, status, wire.CloseBadRequest, "failed to upgrade: "+reason.Error())
		},
	}}
}

// IsWebSocketUpgrade reports whether r asks for a WebSocket upgrade.
func IsWebSocketUpgrade(r *http.Request) bool { return websocket.IsWebSocketUpgrade(r) }

// OfferedSubprotocols returns the subprotocols a raw WebSocket client offers in
// Sec-WebSocket-Protocol.
func OfferedSubprotocols(r *http.Request) []string { return websocket.Subprotocols(r) }

// Upgrade completes the WebSocket handshake. raw selects the raw form (one WebSocket
// message per message) instead of polysock batches; subprotocol, when not empty, is
// returned in Sec-WebSocket-Protocol (raw sessions only). maxBatch is the read limit in
// bytes. On failure Upgrade has already answered the request.
func (u *WebSocketUpgrader) Upgrade(w http.ResponseWriter, r *http.Request, raw bool, subprotocol string, maxBatch int64, writeTimeout time.Duration) (*WebSocket, error) {
	var hdr http.Header
	if subprotocol != "" {
		hdr = http.Header{"Sec-Websocket-Protocol": {subprotocol}}
	}
	own := &ownReader{ResponseWriter: w}
	conn, err := u.up.Upgrade(own, r, hdr)
	if err != nil {
		return nil, fmt.Errorf("failed to upgrade to WebSocket: %w", err)
	}
	conn.SetReadLimit(maxBatch)
	ws := &WebSocket{conn: conn, raw: raw, writeTimeout: writeTimeout, idle: newReadWaiter(own)}
	// Close frames are answered by the session, not by gorilla's default handler.
	conn.SetCloseHandler(func(int, string) error { return nil })
	return ws, nil
}

// WebSocket is a carrier over one WebSocket connection. Send and CloseWith may be called
// by one goroutine at a time (the session's writer); ReadBatch by another (the reader).
type WebSocket struct {
	conn         *websocket.Conn
	raw          bool
	writeTimeout time.Duration
	hdr          [32]byte
	pongIdle     time.Duration
	idle         *readWaiter // nil: wait inside gorilla's read
}

// Transport names the carrier's transport.
func (c *WebSocket) Transport() string { return wire.TransportWebSocket }

// Send writes frames as one batch: one binary WebSocket message in the polysock form, or
// one WebSocket message per data frame in the raw form (where TEXT and BINARY become data
// messages, PING a WebSocket ping, CLOSE the WebSocket close frame, and the other frames
// are dropped).
func (c *WebSocket) Send(frames []wire.Frame) error {
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
		return fmt.Errorf("failed to set write deadline: %w", err)
	}
	if c.raw {
		return c.sendRaw(frames)
	}
	size := 0
	for i := range frames {
		size += wire.BinaryLen(&frames[i])
	}
	if size <= smallBatch {
		// Assembled first and written with WriteMessage, whose server path allocates no
		// message writer: most batches are this small.
		bp := smallBatchPool.Get().(*[]byte)
		b := (*bp)[:0]
		for i := range frames {
			b = wire.AppendBinary(b, &frames[i])
		}
		err := c.conn.WriteMessage(websocket.BinaryMessage, b)
		*bp = b[:0]
		smallBatchPool.Put(bp)
		if err != nil {
			return fmt.Errorf("failed to write WebSocket message: %w", err)
		}
		return nil
	}
	w, err := c.conn.NextWriter(websocket.BinaryMessage)
	if err != nil {
		return fmt.Errorf("failed to start WebSocket message: %w", err)
	}
	for i := range frames {
		f := &frames[i]
		if _, err := w.Write(wire.AppendBinaryHeader(c.hdr[:0], f)); err != nil {
			return fmt.Errorf("failed to write WebSocket message: %w", err)
		}
		if p := wire.BinaryPayload(f); len(p) > 0 {
			if _, err := w.Write(p); err != nil {
				return fmt.Errorf("failed to write WebSocket message: %w", err)
			}
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("failed to write WebSocket message: %w", err)
	}
	return nil
}

func (c *WebSocket) sendRaw(frames []wire.Frame) error {
	for i := range frames {
		f := &frames[i]
		var err error
		switch f.Type {
		case wire.TypeText:
			err = c.conn.WriteMessage(websocket.TextMessage, f.Data)
		case wire.TypeBinary:
			err = c.conn.WriteMessage(websocket.BinaryMessage, f.Data)
		case wire.TypePing:
			err = c.conn.WriteMessage(websocket.PingMessage, f.Data)
		case wire.TypeClose:
			code := int(f.Code)
			if code == 0 {
				code = websocket.CloseNoStatusReceived
			}
			err = c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(code, string(f.Data)))
		}
		if err != nil {
			return fmt.Errorf("failed to write WebSocket message: %w", err)
		}
	}
	return nil
}

// ErrTextMessage is returned by ReadBatch when a polysock peer sends a text message.
var ErrTextMessage = errors.New("transports: text WebSocket message on a polysock session")

// PeerClose is returned by ReadBatch when the peer sent a WebSocket close frame.
type PeerClose struct {
	Code   int
	Reason string
}

func (e *PeerClose) Error() string {
	return fmt.Sprintf("transports: peer closed the WebSocket with %d %q", e.Code, e.Reason)
}

// ErrTooBig is returned by ReadBatch when a message exceeds the read limit.
var ErrTooBig = errors.New("transports: WebSocket message above the limit")

// ReadBatch reads the next WebSocket message, waiting at most idle for it (a pong also
// counts as activity). In the polysock form it returns the batch bytes (a fresh buffer the caller
// may keep). In the raw form it returns the message and whether it is text.
func (c *WebSocket) ReadBatch(idle time.Duration) (data []byte, text bool, err error) {
	if c.pongIdle != idle {
		c.pongIdle = idle
		c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(idle)) })
	}
	if err := c.conn.SetReadDeadline(time.Now().Add(idle)); err != nil {
		return nil, false, fmt.Errorf("failed to set read deadline: %w", err)
	}
	if err := c.idle.wait(); err != nil { // nothing came before the deadline, or closed
		return nil, false, fmt.Errorf("failed to read WebSocket message: %w", err)
	}
	typ, data, err := c.readMessage()
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return nil, false, &PeerClose{Code: ce.Code, Reason: ce.Text}
		}
		if errors.Is(err, websocket.ErrReadLimit) {
			return nil, false, ErrTooBig
		}
		return nil, false, fmt.Errorf("failed to read WebSocket message: %w", err)
	}
	if typ == websocket.TextMessage && !c.raw {
		return nil, false, ErrTextMessage
	}
	return data, typ == websocket.TextMessage, nil
}

// readBuffers hold messages while they are read: a message is then copied once into a
// buffer of its exact size, where gorilla's ReadMessage (io.ReadAll) starts at 512 bytes
// and grows by copying.
var readBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readMessage is gorilla's ReadMessage, returning a fresh buffer of the message's size.
func (c *WebSocket) readMessage() (int, []byte, error) {
	typ, r, err := c.conn.NextReader()
	if err != nil {
		return typ, nil, err
	}
	buf := readBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	var data []byte
	if _, err = buf.ReadFrom(r); err == nil {
		data = bytes.Clone(buf.Bytes())
	}
	if buf.Cap() <= 64<<10 { // a message of up to maxBody must not stay in the pool
		readBuffers.Put(buf)
	}
	return typ, data, err
}

// CloseWith sends a WebSocket close frame with code and reason (best effort, bounded by
// the write timeout) and closes the connection.
func (c *WebSocket) CloseWith(code uint16, reason string) {
	msg := websocket.FormatCloseMessage(int(code), reason)
	_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.writeTimeout))
	_ = c.conn.Close()
}

// Close closes the connection without a close frame.
func (c *WebSocket) Close() error { return c.conn.Close() }

// RemoteAddr is the peer's address.
func (c *WebSocket) RemoteAddr() string { return c.conn.RemoteAddr().String() }
