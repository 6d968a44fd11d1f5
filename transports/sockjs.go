package transports

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/igm/sockjs-go/v3/sockjs"
	"github.com/polysock/polysock/internal/wire"
)

// SockJSConfig configures NewSockJSHandler. Every field must be set (package server applies
// the defaults).
type SockJSConfig struct {
	Prefix          string        // mount path, without a trailing slash ("/echo")
	SockJSURL       string        // sockjs-client URL loaded by the iframe page
	WebSocket       bool          // serve <prefix>/<server>/<session>/websocket
	RawWebSocket    bool          // serve <prefix>/websocket (no SockJS framing)
	ResponseLimit   uint32        // bytes after which a streaming response ends
	HeartbeatDelay  time.Duration // silence after which an "h" frame is sent
	DisconnectDelay time.Duration // how long a session lives without a receiving request
	JSessionID      bool          // set the JSESSIONID cookie for sticky load balancers
	WriteTimeout    time.Duration // bounds each WebSocket write and the handshake
	MaxBody         int64         // largest xhr_send/jsonp_send body and inbound WebSocket message
}

// NewSockJSHandler returns the SockJS endpoint mounted at cfg.Prefix: sockjs-go's handler,
// wrapped so that it answers as the SockJS protocol (version 0.3.3) documents where
// sockjs-go departs from it (error statuses, the info entropy, the iframe ETag, the
// Expires format, JSESSIONID on /info, character escaping in frames, empty WebSocket
// messages, body and message size limits). onSession is called in its own goroutine
// for every new SockJS session, and may run for the session's whole life. The handler
// applies no origin policy: the caller does.
func NewSockJSHandler(cfg SockJSConfig, onSession func(*SockJS)) http.Handler {
	opts := sockjs.Options{
		SockJSURL:     cfg.SockJSURL,
		ResponseLimit: cfg.ResponseLimit,
		Websocket:     cfg.WebSocket,
		RawWebsocket:  cfg.RawWebSocket,
		WebsocketUpgrader: &websocket.Upgrader{
			HandshakeTimeout: cfg.WriteTimeout,
			// A read buffer of its own makes gorilla read through the filtering connection
			// returned by sockjsWriter.Hijack rather than net/http's buffered reader.
			ReadBufferSize:  4096,
			WriteBufferPool: writeBufferPool,
			CheckOrigin:     func(*http.Request) bool { return true },
			Error:           sockjsUpgradeError,
		},
		WebsocketWriteTimeout: cfg.WriteTimeout,
		HeartbeatDelay:        cfg.HeartbeatDelay,
		DisconnectDelay:       cfg.DisconnectDelay,
	}
	if cfg.JSessionID {
		opts.JSessionID = setJSessionID
	}
	h := &sockjsHandler{prefix: cfg.Prefix, maxBody: cfg.MaxBody, linger: cfg.DisconnectDelay,
		inflight: map[string]int{}, closed: map[string]*time.Timer{}}
	h.inner = sockjs.NewHandler(cfg.Prefix, opts, func(s sockjs.Session) { onSession(&SockJS{sess: s, h: h}) })
	h.etag = h.iframeETag()
	return h
}

// SockJS is a carrier over one SockJS session, whatever SockJS transport the client uses.
// SockJS carries text messages only.
type SockJS struct {
	sess sockjs.Session
	h    *sockjsHandler

	mu     sync.Mutex
	closed bool // the server closed the SockJS session (CLOSE sent or CloseWith)
	code   uint16
	reason string
}

// ErrSockJSBinary is returned by Send for a binary message: SockJS carries text only.
var ErrSockJSBinary = errors.New("transports: SockJS carries text messages only")

// Transport names the carrier's transport.
func (c *SockJS) Transport() string { return wire.TransportSockJS }

// Request is the HTTP request that opened the SockJS session.
func (c *SockJS) Request() *http.Request { return c.sess.Request() }

// Send hands TEXT frames to the SockJS session (which frames them as a[...] on whatever
// request or connection is receiving, or keeps them until one is) and turns CLOSE into
// the SockJS close frame c[code,"reason"]. PING, ACK, OPEN and PONG are dropped: SockJS
// has heartbeats of its own. A BINARY frame fails with ErrSockJSBinary.
func (c *SockJS) Send(frames []wire.Frame) error {
	for i := range frames {
		f := &frames[i]
		switch f.Type {
		case wire.TypeText:
			if err := c.sess.Send(string(f.Data)); err != nil {
				return fmt.Errorf("failed to send SockJS message: %w", err)
			}
		case wire.TypeBinary:
			return fmt.Errorf("failed to send SockJS message: %w", ErrSockJSBinary)
		case wire.TypeClose:
			c.CloseWith(f.Code, string(f.Data))
		}
	}
	return nil
}

// CloseWith closes the SockJS session with code and reason: the client receives
// c[code,"reason"] now or on its next request. It is idempotent.
func (c *SockJS) CloseWith(code uint16, reason string) {
	if code == 0 {
		code = wire.CloseNormal
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.code, c.reason = true, code, reason
	c.mu.Unlock()
	if id := c.sess.ID(); id != "" { // "" is a raw WebSocket session
		c.h.remember(id)
	}
	_ = c.sess.Close(uint32(code), reason)
}

// ClosedByServer reports whether CloseWith (or a CLOSE frame) closed the session, and
// with what.
func (c *SockJS) ClosedByServer() (code uint16, reason string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code, c.reason, c.closed
}

// Recv returns the next message from the client. It fails once the SockJS session is
// closed (by either side, or because no receiving request came within the disconnect
// delay) or when ctx is done.
func (c *SockJS) Recv(ctx context.Context) (string, error) {
	msg, err := c.sess.RecvCtx(ctx)
	if err != nil {
		return "", fmt.Errorf("failed to receive SockJS message: %w", err)
	}
	return msg, nil
}
