package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// This file serves the HTTP transports (PROTOCOL.md sections 8.2–8.5): the stream and
// poll GETs that carry server→client batches, the POSTs that carry client→server
// batches for both, CORS preflights and method checks. The HTTP mechanics (bodies,
// headers, error answers) are in package transports; the policy is here.

// httpCarrier is a stream or poll response (transports.Stream, transports.Poll).
type httpCarrier interface {
	carrier
	// Done is closed when the response has ended.
	Done() <-chan struct{}
	// End ends the response without writing more; afterwards nothing writes to it.
	End()
}

// serveHTTP serves every request that is not a WebSocket upgrade. The origin policy has
// already allowed r.
func (srv *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" {
		transports.AllowOrigin(w.Header(), origin)
	}
	switch r.Method {
	case http.MethodGet:
		srv.serveGet(w, r)
	case http.MethodPost:
		srv.servePost(w, r)
	case http.MethodOptions:
		transports.Preflight(w)
	default:
		transports.WriteMethodNotAllowed(w)
	}
}

// checkRequest applies the checks every polysock HTTP request shares: ps_v present and
// speaking version 1, and well-formed parameters. It returns the failure's code and
// reason, or 0.
func checkRequest(p *params, bad string) (uint16, string) {
	switch {
	case !p.polysock && bad == "":
		return wire.CloseBadRequest, "missing " + wire.ParamVersion
	case p.polysock && p.version != strconv.Itoa(wire.Version):
		return wire.CloseUnsupportedVersion, "unsupported protocol version; this server speaks 1"
	case bad != "":
		return wire.CloseBadRequest, bad
	}
	return 0, ""
}

// serveGet serves a stream or poll GET: it opens a session or finds the one it names,
// makes the response the session's carrier, and holds the request until the carrier ends.
func (srv *Server) serveGet(w http.ResponseWriter, r *http.Request) {
	cfg := srv.cfg
	p, bad := parseParams(r)
	stream := p.transport == wire.TransportStream
	enc, encOK := transports.ParseEncoding(p.encoding, stream)
	fail := func(code uint16, reason string) {
		transports.WriteErrorAs(w, errorForm(r), statusOf(code), code, reason)
	}
	if code, reason := checkRequest(&p, bad); code != 0 {
		fail(code, reason)
		return
	}
	if !stream && p.transport != wire.TransportPoll {
		fail(wire.CloseBadRequest, "bad "+wire.ParamTransport+": want stream or poll")
		return
	}
	if !encOK {
		fail(wire.CloseBadRequest, "bad "+wire.ParamEncoding)
		return
	}
	var s *Session
	resumed := p.sid != ""
	if resumed && !p.hasAck {
		fail(wire.CloseBadRequest, "missing "+wire.ParamAck) // PROTOCOL.md section 2
		return
	}
	if resumed {
		var refused *polysock.CloseError
		if s, refused = srv.lookup(p.sid, p.tok); s == nil {
			fail(uint16(refused.Code), refused.Reason)
			return
		}
	} else {
		var refused *polysock.CloseError
		if s, refused = srv.newSession(r, cfg.chooseProtocol(r, p.protocols), false); refused != nil {
			fail(uint16(refused.Code), refused.Reason)
			return
		}
	}
	s.hear()
	var c httpCarrier
	if stream {
		c = transports.NewStream(w, enc, cfg.StreamMaxBytes, cfg.WriteTimeout)
	} else {
		c = transports.NewPoll(w, enc, cfg.WriteTimeout)
	}
	if err := s.attach(c, p.ack, resumed); err != nil {
		var ce *polysock.CloseError
		if !errors.As(err, &ce) {
			ce = &polysock.CloseError{Code: polysock.CloseInternalError, Reason: "internal error"}
		}
		if !resumed {
			s.end(ce) // no handler runs for it yet: it must not stay in the registry
		}
		fail(uint16(ce.Code), ce.Reason)
		return
	}
	if !resumed {
		srv.start(s)
	}
	srv.hold(r.Context(), s, c, stream)
}

// hold keeps the request of carrier c open until the carrier ends: after its batch (a
// poll), its byte limit or Options.StreamMaxHold (a stream), when it is replaced or the session ends (CloseWith),
// when a write fails, or when the request is cancelled. A poll with nothing to send is
// answered empty after Options.PollHold. A stream whose client was not heard from for
// Options.IdleTimeout is dropped (the session waits for the client to resume). The
// handler never returns while a write to its response may still come.
func (srv *Server) hold(ctx context.Context, s *Session, c httpCarrier, stream bool) {
	// One timer per held request: the poll's hold time, or for a stream the earlier of
	// its next liveness check and the end of its hold time (recycleAt, zero once passed).
	var timer *time.Timer
	var holding, idle <-chan time.Time
	var recycleAt time.Time
	if stream {
		recycleAt = time.Now().Add(srv.cfg.StreamMaxHold)
		timer = time.NewTimer(min(srv.cfg.IdleTimeout, srv.cfg.StreamMaxHold))
		idle = timer.C
	} else {
		timer = time.NewTimer(srv.cfg.PollHold)
		holding = timer.C
	}
	defer timer.Stop()
	for {
		select {
		case <-c.Done():
			return
		case <-ctx.Done(): // the client went away
			c.End()
			s.detach(c, lostCarrier)
			return
		case <-holding:
			if s.release(c) {
				c.End() // an empty 200
				return
			}
			holding = nil // a batch or a CLOSE is on its way to c: wait for it
		case <-idle:
			if !recycleAt.IsZero() && !time.Now().Before(recycleAt) {
				// StreamMaxHold passed: the stream ends after the batch on its way, or now
				// when none is; the client continues on a new stream GET (as after
				// StreamMaxBytes).
				recycleAt = time.Time{}
				if r, ok := c.(recycler); ok {
					r.Recycle()
				}
				if s.release(c) {
					c.End()
					return
				}
			}
			wait := srv.cfg.IdleTimeout - s.silence()
			if wait <= 0 {
				c.End()
				s.detach(c, lostCarrier)
				return
			}
			if !recycleAt.IsZero() {
				wait = min(wait, time.Until(recycleAt))
			}
			timer.Reset(wait)
		}
	}
}

// recycler is a carrier that can be asked to end after its next batch (transports.Stream).
type recycler interface{ Recycle() }

// lostCarrier is the cause given when an HTTP carrier is dropped.
var lostCarrier = &polysock.CloseError{Code: polysock.CloseAbnormal, Reason: "connection lost"}

// servePost serves a POST: one batch of client→server frames, processed in order and
// answered with the server's ACK (PROTOCOL.md section 8.4).
func (srv *Server) servePost(w http.ResponseWriter, r *http.Request) {
	p, bad := parseParams(r)
	if code, reason := checkRequest(&p, bad); code != 0 {
		transports.WriteError(w, statusOf(code), code, reason)
		return
	}
	if p.sid == "" {
		transports.WriteError(w, http.StatusBadRequest, wire.CloseBadRequest, "missing "+wire.ParamSession)
		return
	}
	form, err := transports.PostForm(r)
	if err != nil {
		transports.WriteError(w, http.StatusUnsupportedMediaType, wire.CloseUnsupportedData, "unsupported Content-Type")
		return
	}
	s, refused := srv.lookup(p.sid, p.tok)
	if s == nil {
		transports.WriteError(w, statusOf(uint16(refused.Code)), uint16(refused.Code), refused.Reason)
		return
	}
	if int(s.requests.Add(1)) > srv.cfg.MaxPostsPerSession {
		s.requests.Add(-1)
		transports.WriteError(w, http.StatusTooManyRequests, wire.CloseTryAgainLater, "too many requests in progress for this session")
		return
	}
	s.hear()
	defer func() {
		s.hear()
		s.requests.Add(-1)
	}()
	// The body must arrive within HandshakeTimeout, so that a slow sender holds no
	// goroutine longer. After a complete body the connection's reads are unbounded again,
	// as net/http left them; after a failed one the connection is closed with the answer
	// (net/http would otherwise wait for the rest of the body).
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(srv.cfg.HandshakeTimeout))
	body, err := transports.ReadPost(w, r, srv.cfg.MaxBatchSize)
	if err == nil {
		_ = rc.SetReadDeadline(time.Time{})
	} else {
		w.Header().Set("Connection", "close")
	}
	switch {
	case errors.Is(err, transports.ErrBodyTooBig):
		ce := &polysock.CloseError{Code: polysock.CloseMessageTooBig, Reason: "batch too big"}
		s.fail(ce)
		transports.WriteError(w, http.StatusRequestEntityTooLarge, wire.CloseMessageTooBig, ce.Reason)
		return
	case err != nil:
		// The request was cut: nothing of it was processed, and the session goes on; the
		// client sends the batch again (PROTOCOL.md section 9.1).
		transports.WriteError(w, http.StatusBadRequest, wire.CloseProtocolError, "request body cut short")
		return
	}
	if err := s.receiveBatch(r.Context(), body, form == transports.EncodingText); err != nil {
		var ce *polysock.CloseError
		switch {
		case errors.As(err, &ce):
			transports.WriteError(w, statusOf(uint16(ce.Code)), uint16(ce.Code), ce.Reason)
		case errors.Is(err, errEnded):
			transports.WriteError(w, http.StatusNotFound, wire.CloseUnknownSession, "unknown session")
		default: // the request was cancelled while the session's inbox was full
			transports.WriteError(w, http.StatusServiceUnavailable, wire.CloseTryAgainLater, "request cancelled")
		}
		return
	}
	transports.WriteAck(w, form, s.answerAck())
}

// errorForm is the form of the error answer to a GET: an SSE event for a stream GET with
// ps_e=sse, whatever else is wrong with it (EventSource cannot read a non-200 answer),
// and a plain error answer otherwise.
func errorForm(r *http.Request) transports.Encoding {
	q := r.URL.Query()
	if q.Get(wire.ParamTransport) == wire.TransportStream && q.Get(wire.ParamEncoding) == wire.EncodingSSE {
		return transports.EncodingSSE
	}
	return transports.EncodingText
}

// statusOf is the HTTP status of an error answer with close code code (PROTOCOL.md
// section 9.1).
func statusOf(code uint16) int {
	switch code {
	case wire.CloseUnknownSession:
		return http.StatusNotFound
	case wire.ClosePolicyViolation:
		return http.StatusForbidden
	case wire.CloseMessageTooBig:
		return http.StatusRequestEntityTooLarge
	case wire.CloseUnsupportedData:
		return http.StatusUnsupportedMediaType
	case wire.CloseServiceRestart, wire.CloseTryAgainLater:
		return http.StatusServiceUnavailable
	case wire.CloseInternalError:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// epoch anchors the monotonic clock of HTTP liveness.
var epoch = time.Now()

// hear records that the client of s was heard from: on HTTP, any request of the session
// counts (PROTOCOL.md section 7).
func (s *Session) hear() { s.heard.Store(int64(time.Since(epoch))) }

// silence is how long the client of s has not been heard from over HTTP: zero while one
// of its POSTs is in progress.
func (s *Session) silence() time.Duration {
	if s.requests.Load() > 0 {
		return 0
	}
	return time.Since(epoch) - time.Duration(s.heard.Load())
}
