package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// DefaultSockJSURL is the sockjs-client build the iframe page loads when
// SockJSOptions.SockJSURL is empty.
const DefaultSockJSURL = "https://cdn.jsdelivr.net/npm/sockjs-client@1.6.1/dist/sockjs.min.js"

// ErrTextOnly is returned (wrapped) by Session.Write for a binary message on a session
// whose transport carries text only (SockJS). The session stays open.
var ErrTextOnly = errors.New("polysock: this session carries text messages only (SockJS); binary messages cannot be sent")

// SockJSOptions configures a SockJS endpoint. A nil *SockJSOptions, and every zero field,
// means the default documented on the field. The origin policy, limits and timeouts not
// listed here come from the Server's Options.
type SockJSOptions struct {
	// SockJSURL is the URL of the sockjs-client script that the endpoint's iframe page
	// (used by the iframe-based transports) loads. It must serve the same sockjs-client
	// version as the pages use. Zero means DefaultSockJSURL.
	SockJSURL string
	// DisableWebSocket turns the SockJS WebSocket transport off (for load balancers that
	// cannot carry WebSockets); /info then tells clients so. Zero keeps it on.
	DisableWebSocket bool
	// RawWebSocket serves <prefix>/websocket: plain WebSocket without SockJS framing,
	// text messages only. Zero means off.
	RawWebSocket bool
	// ResponseLimit is the number of bytes after which a streaming response
	// (xhr-streaming, eventsource, htmlfile) ends and the client opens a new one. Zero
	// means 128 KiB.
	ResponseLimit int
	// HeartbeatDelay is how long a receiving connection may stay silent before the server
	// sends a heartbeat frame. Zero means 25 s.
	HeartbeatDelay time.Duration
	// DisconnectDelay is how long a session may go without a receiving request or
	// connection before it ends (with 1006 on the Session). Zero means 5 s.
	DisconnectDelay time.Duration
	// JSessionID sets the JSESSIONID cookie on session requests (echoing the client's
	// cookie, else "dummy"), for load balancers whose sticky sessions need it, and tells
	// clients "cookie_needed" in /info. Zero means no cookie.
	JSessionID bool
}

// SockJSHandler returns an http.Handler serving the SockJS protocol (version 0.3.3, the
// one sockjs-client 1.x speaks) at prefix (such as "/sockjs", without a trailing slash;
// the handler must receive every request whose path is prefix or starts with prefix+"/",
// unchanged). opts may be nil.
//
// Each SockJS session is passed to the Server's handler as an ordinary *Session whose
// Transport is "sockjs" and Raw is true: it is text only (a binary Write fails with
// ErrTextOnly) and has no resume (a client that loses its SockJS session gets a new
// Session). The Server's origin policy applies (403 for other origins), and so do its
// MaxMessageSize (1009 close), MaxBatchSize (the largest xhr_send body or WebSocket
// message), WriteTimeout, CloseTimeout, MaxSessions and Shutdown. The Session's Request
// is the request that opened the SockJS session, with the path set to prefix so the
// SockJS session id stays hidden, as the protocol asks.
//
// Built on github.com/igm/sockjs-go; docs/SOCKJS.md lists where the endpoint still departs
// from the protocol.
func (srv *Server) SockJSHandler(prefix string, opts *SockJSOptions) http.Handler {
	var o SockJSOptions
	if opts != nil {
		o = *opts
	}
	cfg := transports.SockJSConfig{
		Prefix:          strings.TrimSuffix(prefix, "/"),
		SockJSURL:       o.SockJSURL,
		WebSocket:       !o.DisableWebSocket,
		RawWebSocket:    o.RawWebSocket,
		ResponseLimit:   uint32(o.ResponseLimit),
		HeartbeatDelay:  o.HeartbeatDelay,
		DisconnectDelay: o.DisconnectDelay,
		JSessionID:      o.JSessionID,
		WriteTimeout:    srv.cfg.WriteTimeout,
		MaxBody:         srv.cfg.MaxBatchSize,
	}
	if cfg.SockJSURL == "" {
		cfg.SockJSURL = DefaultSockJSURL
	}
	if o.ResponseLimit <= 0 || o.ResponseLimit > 1<<31 {
		cfg.ResponseLimit = 128 << 10
	}
	if cfg.HeartbeatDelay <= 0 {
		cfg.HeartbeatDelay = 25 * time.Second
	}
	if cfg.DisconnectDelay <= 0 {
		cfg.DisconnectDelay = 5 * time.Second
	}
	inner := transports.NewSockJSHandler(cfg, func(c *transports.SockJS) { srv.serveSockJS(cfg.Prefix, c) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !srv.cfg.originAllowed(r) {
			w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("Origin not allowed.\n"))
			return
		}
		inner.ServeHTTP(w, r)
	})
}

// serveSockJS runs one SockJS session as a raw, text-only Session: it becomes the
// session's reader until the SockJS session closes.
func (srv *Server) serveSockJS(prefix string, c *transports.SockJS) {
	s, refused := srv.newSession(hideSockJSPath(c.Request(), prefix), "", true)
	if refused != nil {
		c.CloseWith(uint16(refused.Code), refused.Reason)
		return
	}
	s.textOnly = true
	_ = s.attach(c, 0, false)
	srv.start(s)
	for {
		msg, err := c.Recv(s.ctx)
		if err != nil {
			break
		}
		// receiveRaw ends the session with 1007 for invalid UTF-8 (a raw WebSocket client
		// may send anything) and with 1009 for a message above MaxMessageSize.
		if s.receiveRaw(polysock.Text, []byte(msg)) != nil {
			return // the session ended
		}
	}
	if code, reason, ok := c.ClosedByServer(); ok {
		// Our close frame went out: SockJS has no closing handshake, so the close is
		// complete (a no-op when the session already ended).
		s.receiveClose(&wire.Frame{Type: wire.TypeClose, Code: code, Data: []byte(reason)})
		return
	}
	s.detach(c, &polysock.CloseError{Code: polysock.CloseAbnormal, Reason: "SockJS session closed"})
}

// hideSockJSPath returns r with its path set to the endpoint's prefix.
func hideSockJSPath(r *http.Request, prefix string) *http.Request {
	r2 := *r
	u := *r.URL
	u.Path, u.RawPath = prefix, ""
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	return &r2
}
