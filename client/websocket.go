package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
)

// closeWriteWait bounds the WebSocket close frame sent when a carrier ends.
const closeWriteWait = time.Second

// wsCarrier is the "websocket" transport (PROTOCOL.md section 8.1): each WebSocket message
// is one binary message holding one batch.
type wsCarrier struct {
	conn *websocket.Conn
	idle atomic.Int64 // time.Duration
	once sync.Once
}

// dialWebSocket performs the upgrade with ps_v (and ps_p). HTTP refusals map to
// *polysock.CloseError as handshakeError says; a cancelled ctx closes the connection at
// any step of the handshake.
func dialWebSocket(ctx context.Context, e *endpoint, p carrierParams, cfg *config) (carrier, error) {
	d := websocket.Dialer{
		WriteBufferSize: 16 << 10,
		Jar:             cfg.httpClient.Jar,
		Proxy:           http.ProxyFromEnvironment,
	}
	netDial := (&net.Dialer{}).DialContext
	rt := cfg.httpClient.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if t, ok := rt.(*http.Transport); ok {
		// Clone first: net/http sets a Transport's defaults (TLSClientConfig among them)
		// on its first request, and Clone waits for that, so reading the fields of a
		// Transport that requests are using at the same time is no data race.
		t = t.Clone()
		d.Proxy = t.Proxy
		if t.TLSClientConfig != nil {
			// A config shared with net/http may offer h2 in ALPN, which a WebSocket
			// handshake cannot use.
			d.TLSClientConfig = t.TLSClientConfig // the clone's own
			d.TLSClientConfig.NextProtos = nil
		}
		if t.DialContext != nil {
			netDial = t.DialContext
		}
	}
	// gorilla honours ctx only while dialling; close the connection when ctx ends later
	// in the handshake.
	var (
		mu   sync.Mutex
		conn net.Conn
	)
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := netDial(ctx, network, addr)
		if err == nil {
			mu.Lock()
			conn = c
			mu.Unlock()
		}
		return c, err
	}
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if conn != nil {
			conn.Close()
		}
	})

	hdr := cfg.header.Clone()
	if e.user != nil && hdr.Get("Authorization") == "" {
		pw, _ := e.user.Password()
		r := http.Request{Header: hdr}
		r.SetBasicAuth(e.user.Username(), pw)
	}
	ws, resp, err := d.DialContext(ctx, e.url(true, p), hdr)
	cancelled := !stop()
	if err != nil {
		if cancelled || ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
			return nil, handshakeError(resp)
		}
		return nil, err
	}
	if cancelled { // ctx ended as the handshake succeeded
		ws.Close()
		return nil, ctx.Err()
	}
	return &wsCarrier{conn: ws}, nil
}

func (w *wsCarrier) transport() string { return wire.TransportWebSocket }

func (w *wsCarrier) setIdle(d time.Duration) { w.idle.Store(int64(d)) }

// extend moves the read deadline idle ahead of now.
func (w *wsCarrier) extend() {
	if d := time.Duration(w.idle.Load()); d > 0 {
		w.conn.SetReadDeadline(time.Now().Add(d))
	}
}

func (w *wsCarrier) next() (io.Reader, error) {
	w.extend()
	typ, r, err := w.conn.NextReader()
	if err != nil {
		return nil, w.readError(err)
	}
	if typ != websocket.BinaryMessage {
		return nil, protoErr(wire.CloseUnsupportedData, "text WebSocket message on a polysock session")
	}
	return &wsReader{r: r, w: w}, nil
}

// readError describes a failed read. A WebSocket close frame from the server becomes a
// *polysock.CloseError with its code; gorilla reports a connection that ended without one
// as code 1006.
func (w *wsCarrier) readError(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Errorf("WebSocket closed: %w", &polysock.CloseError{Code: ce.Code, Reason: ce.Text})
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() { // gorilla hides os.ErrDeadlineExceeded

		return fmt.Errorf("nothing heard from the server for %v", time.Duration(w.idle.Load()))
	}
	return fmt.Errorf("failed to read from WebSocket: %w", err)
}

func (w *wsCarrier) send(batch []byte) error {
	if err := w.conn.WriteMessage(websocket.BinaryMessage, batch); err != nil {
		return fmt.Errorf("failed to write to WebSocket: %w", err)
	}
	return nil
}

func (w *wsCarrier) close(code uint16, reason string) {
	w.once.Do(func() {
		if !wire.ValidCloseCode(code) {
			code, reason = wire.CloseNormal, ""
		}
		msg := websocket.FormatCloseMessage(int(code), reason)
		_ = w.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeWriteWait))
		_ = w.conn.Close()
	})
}

// wsReader reads one WebSocket message, keeping the idle deadline ahead of each read.
type wsReader struct {
	r io.Reader
	w *wsCarrier
}

func (r *wsReader) Read(p []byte) (int, error) {
	r.w.extend()
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = r.w.readError(err)
	}
	return n, err
}
