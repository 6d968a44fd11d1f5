package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/broker"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// Server is the polysock endpoint: an http.Handler serving every transport at its mount
// URL. Each new client session is passed to the handler in its own goroutine; when the
// handler returns, the session is closed with 1000 if it is still open.
type Server struct {
	cfg      *config
	handler  func(*Session)
	upgrader *transports.WebSocketUpgrader

	mu       sync.Mutex
	sessions map[string]*Session
	clients  map[string]int // live sessions per client address (Options.MaxSessionsPerClient)
	shutdown bool
	handlers sync.WaitGroup
	// readers counts the WebSocket carriers' read loops (websocket.go); readersIdle, when
	// not nil, is closed when it drops to zero. Both are guarded by mu.
	readers     int
	readersIdle chan struct{}

	writers writerPool // idle writer goroutines (writerpool.go)

	opened, resumed, forwarded atomic.Uint64

	broker broker.Broker
	// topicsMu guards topics and every Session's topics (pubsub.go). It is never held
	// while waiting for the network.
	topicsMu sync.Mutex
	topics   map[string]*topicSubs

	// router and forwarder are set when the broker is a broker.Router (route.go);
	// forwarding ends with errShutdown when Shutdown starts, and with it every request
	// being passed to another node.
	router        broker.Router
	forwarder     *transports.Forwarder
	forwarding    context.Context
	endForwarding context.CancelCauseFunc
}

// New returns a Server that calls handler for every new session. opts may be nil.
func New(handler func(*Session), opts *Options) *Server {
	cfg := newConfig(opts)
	b := cfg.Broker
	if b == nil {
		b = broker.NewMemory()
	}
	srv := &Server{
		cfg:      cfg,
		handler:  handler,
		upgrader: transports.NewWebSocketUpgrader(cfg.HandshakeTimeout),
		sessions: make(map[string]*Session),
		clients:  make(map[string]int),
		broker:   b,
		topics:   make(map[string]*topicSubs),
	}
	if r, ok := b.(broker.Router); ok {
		srv.router = r
		srv.forwarder = transports.NewForwarder(r.NodeID(), srv.forwardFailed)
		srv.forwarding, srv.endForwarding = context.WithCancelCause(context.Background())
	}
	return srv
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	Sessions int    // live sessions
	Opened   uint64 // sessions opened since New
	Resumed  uint64 // resumes after a lost carrier or onto another transport (a poll continuing a poll session or a recycled stream does not count)
	// Forwarded counts the requests passed to the node that owns their session (a
	// cluster broker, docs/SCALING.md), including those that node did not answer.
	Forwarded uint64
}

// Stats returns a snapshot of the counters.
func (srv *Server) Stats() Stats {
	srv.mu.Lock()
	n := len(srv.sessions)
	srv.mu.Unlock()
	return Stats{Sessions: n, Opened: srv.opened.Load(), Resumed: srv.resumed.Load(), Forwarded: srv.forwarded.Load()}
}

// ServeHTTP serves the polysock endpoint.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if serveBundle(w, r) { // <endpoint>/polysock.js and the other client files (bundle.go)
		return
	}
	if !srv.cfg.endpointAllowed(r) {
		transports.WriteError(w, http.StatusForbidden, wire.ClosePolicyViolation, "origin not allowed")
		return
	}
	if srv.route(w, r) { // another node's session (route.go)
		return
	}
	if transports.IsWebSocketUpgrade(r) {
		srv.serveWebSocket(w, r)
		return
	}
	srv.serveHTTP(w, r)
}

// newSession registers a new session, or returns the close error that refuses it.
func (srv *Server) newSession(r *http.Request, protocol string, raw bool) (*Session, *polysock.CloseError) {
	s := &Session{
		srv:      srv,
		id:       srv.newSessionID(),
		token:    randomID(),
		protocol: protocol,
		raw:      raw,
		client:   srv.cfg.clientAddress(r),
		readable: make(chan struct{}, 1),
		ended:    make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.req = sessionRequest(r, s.ctx)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.shutdown {
		return nil, &polysock.CloseError{Code: polysock.CloseServiceRestart, Reason: "server shutting down"}
	}
	if len(srv.sessions) >= srv.cfg.MaxSessions {
		return nil, &polysock.CloseError{Code: polysock.CloseTryAgainLater, Reason: "too many sessions"}
	}
	if srv.clients[s.client] >= srv.cfg.MaxSessionsPerClient {
		return nil, &polysock.CloseError{Code: polysock.CloseTryAgainLater, Reason: "too many sessions from this address"}
	}
	srv.clients[s.client]++
	srv.sessions[s.id] = s
	srv.opened.Add(1)
	return s, nil
}

// start runs the handler for s in its own goroutine.
func (srv *Server) start(s *Session) {
	srv.handlers.Add(1)
	go func() {
		defer srv.handlers.Done()
		defer func() {
			if p := recover(); p != nil {
				srv.cfg.log.Error("polysock: handler panicked", "session", s.id, "panic", p)
				s.fail(&polysock.CloseError{Code: polysock.CloseInternalError, Reason: "internal error"})
				return
			}
			_ = s.Close(polysock.CloseNormal, "")
		}()
		srv.handler(s)
	}()
}

// lookup finds the session a resuming request names, comparing the token in constant
// time. When there is none it returns the refusal: 4004, or 1012 while the server shuts
// down (the session may have ended because of the shutdown: the client should go
// elsewhere rather than report a lost session).
func (srv *Server) lookup(id, token string) (*Session, *polysock.CloseError) {
	srv.mu.Lock()
	s, shutdown := srv.sessions[id], srv.shutdown
	srv.mu.Unlock()
	if s != nil && tokenEqual(s.token, token) {
		return s, nil
	}
	if shutdown {
		return nil, &polysock.CloseError{Code: polysock.CloseServiceRestart, Reason: "server shutting down"}
	}
	return nil, &polysock.CloseError{Code: polysock.CloseUnknownSession, Reason: "unknown session"}
}

func (srv *Server) remove(s *Session) {
	srv.mu.Lock()
	if srv.sessions[s.id] == s {
		delete(srv.sessions, s.id)
		if srv.clients[s.client]--; srv.clients[s.client] <= 0 {
			delete(srv.clients, s.client)
		}
	}
	srv.mu.Unlock()
}

// Shutdown stops accepting sessions, closes every session with 1012 (service restart) so
// clients reconnect elsewhere, cuts the requests it is passing to other nodes of a
// cluster (their clients resume through another node; those sessions go on), and waits until the sessions have ended, their handlers
// returned and their WebSocket connections' read loops ended, or ctx is done (then the
// remaining sessions are ended at once and ctx's error is returned).
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.writers.close()
	srv.mu.Lock()
	srv.shutdown = true
	all := make([]*Session, 0, len(srv.sessions))
	if srv.endForwarding != nil {
		srv.endForwarding(errShutdown)
	}
	for _, s := range srv.sessions {
		all = append(all, s)
	}
	srv.mu.Unlock()
	bye := &polysock.CloseError{Code: polysock.CloseServiceRestart, Reason: "server shutting down"}
	for _, s := range all {
		s.mu.Lock()
		connected := s.car != nil
		s.mu.Unlock()
		if connected {
			go s.closeWith(wire.CloseServiceRestart, bye.Reason)
		} else {
			s.end(bye)
		}
	}
	done := make(chan struct{})
	go func() {
		for _, s := range all {
			<-s.ended
		}
		srv.handlers.Wait()
		srv.waitReaders()
		close(done)
	}()
	if srv.forwarder != nil {
		defer srv.forwarder.CloseIdleConnections()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, s := range all {
			s.end(bye)
		}
		return fmt.Errorf("failed to shut down gracefully: %w", ctx.Err())
	}
}

func randomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("polysock: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// now is the clock, replaceable in tests.
var now = time.Now
