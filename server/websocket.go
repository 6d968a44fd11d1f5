package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// serveWebSocket serves a WebSocket upgrade: a polysock carrier (ps_v present) or a raw
// session. Once the carrier is attached, its read loop runs in a goroutine of its own and
// serveWebSocket returns, so that net/http's per-connection state (its buffers, the
// request's parsing, its contexts and the deeper stack of its goroutine) is not kept by
// an idle connection.
func (srv *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	cfg := srv.cfg
	p, bad := parseParams(r)
	if !p.polysock && bad == "" {
		srv.serveRawWebSocket(w, r)
		return
	}
	ws, err := srv.upgrader.Upgrade(w, r, false, "", cfg.MaxBatchSize, cfg.WriteTimeout)
	if err != nil {
		cfg.log.Debug("polysock: upgrade failed", "err", err)
		return
	}
	// Errors before OPEN are WebSocket closes: a browser can read those (PROTOCOL.md 8.1).
	// The version is checked first: another version's parameters need not follow
	// version 1's rules, and its client must learn that the version is the problem.
	q := r.URL.Query()
	switch vs := q[wire.ParamVersion]; {
	case len(vs) == 1 && vs[0] != strconv.Itoa(wire.Version):
		ws.CloseWith(wire.CloseUnsupportedVersion, "unsupported protocol version; this server speaks 1")
		return
	case bad != "":
		ws.CloseWith(wire.CloseBadRequest, bad)
		return
	case p.sid != "" && q.Get(wire.ParamAck) == "":
		// ps_ack is required on a resuming upgrade (PROTOCOL.md 2): without it the
		// server cannot know where to replay from.
		ws.CloseWith(wire.CloseBadRequest, "missing "+wire.ParamAck)
		return
	}
	var s *Session
	resumed := p.sid != ""
	if resumed {
		var refused *polysock.CloseError
		if s, refused = srv.lookup(p.sid, p.tok); s == nil {
			ws.CloseWith(uint16(refused.Code), refused.Reason)
			return
		}
	} else {
		var refused *polysock.CloseError
		if s, refused = srv.newSession(r, cfg.chooseProtocol(r, p.protocols), false); refused != nil {
			ws.CloseWith(uint16(refused.Code), refused.Reason)
			return
		}
	}
	if err := s.attach(ws, p.ack, resumed); err != nil {
		var ce *polysock.CloseError
		if errors.As(err, &ce) {
			ws.CloseWith(uint16(ce.Code), ce.Reason)
		}
		return
	}
	if !resumed {
		srv.start(s)
	}
	srv.goReadWebSocket(s, ws)
}

// goReadWebSocket runs the carrier's read loop in a new goroutine, counted for Shutdown.
func (srv *Server) goReadWebSocket(s *Session, ws *transports.WebSocket) {
	srv.mu.Lock()
	srv.readers++
	srv.mu.Unlock()
	go func() {
		defer srv.readerDone()
		srv.readWebSocket(s, ws)
	}()
}

func (srv *Server) readerDone() {
	srv.mu.Lock()
	srv.readers--
	if srv.readers == 0 && srv.readersIdle != nil {
		close(srv.readersIdle)
		srv.readersIdle = nil
	}
	srv.mu.Unlock()
}

// waitReaders waits until no carrier read loop runs. Every loop ends soon after its
// session does (end closes the carrier; a loop waiting for inbox space sees the end).
func (srv *Server) waitReaders() {
	srv.mu.Lock()
	if srv.readers == 0 {
		srv.mu.Unlock()
		return
	}
	if srv.readersIdle == nil {
		srv.readersIdle = make(chan struct{})
	}
	idle := srv.readersIdle
	srv.mu.Unlock()
	<-idle
}

// readWebSocket is the carrier's read loop: it ends when the connection does.
func (srv *Server) readWebSocket(s *Session, ws *transports.WebSocket) {
	for {
		batch, text, err := ws.ReadBatch(srv.cfg.IdleTimeout)
		if err != nil {
			var pc *transports.PeerClose
			if s.raw && errors.As(err, &pc) {
				// The writer answers with the close frame, then ends the session.
				s.receiveClose(&wire.Frame{Type: wire.TypeClose, Code: uint16(pc.Code), Data: []byte(pc.Reason)})
				return
			}
			cause := carrierError(err)
			if !s.raw && (cause.Code == polysock.CloseUnsupportedData || cause.Code == polysock.CloseMessageTooBig) {
				// A text message or a batch above maxBody breaks the protocol: it ends the
				// session with that code (PROTOCOL.md 4.3, 9), not just the carrier.
				s.fail(cause)
				ws.Close()
				return
			}
			s.detach(ws, cause)
			// Drop the connection itself too (idle timeout, peer's WebSocket close, read
			// error): otherwise the client would never learn that the carrier is gone and
			// the hijacked connection would stay open.
			ws.Close()
			return
		}
		if s.raw {
			typ := polysock.Binary
			if text {
				typ = polysock.Text
			}
			err = s.receiveRaw(typ, batch)
		} else {
			err = s.receiveBatch(context.Background(), batch, false)
		}
		if err != nil {
			return // the session failed or ended; end() closed the carrier
		}
	}
}

// carrierError maps a read error to the close error a raw session ends with.
func carrierError(err error) *polysock.CloseError {
	var pc *transports.PeerClose
	switch {
	case errors.As(err, &pc):
		return &polysock.CloseError{Code: pc.Code, Reason: pc.Reason, WasClean: true}
	case errors.Is(err, transports.ErrTextMessage):
		return &polysock.CloseError{Code: polysock.CloseUnsupportedData, Reason: "text message on a polysock session"}
	case errors.Is(err, transports.ErrTooBig):
		return &polysock.CloseError{Code: polysock.CloseMessageTooBig, Reason: "message too big"}
	}
	return &polysock.CloseError{Code: polysock.CloseAbnormal, Reason: "connection lost"}
}

// serveRawWebSocket serves a plain WebSocket client: one WebSocket message per message,
// standard subprotocol negotiation, no resume.
func (srv *Server) serveRawWebSocket(w http.ResponseWriter, r *http.Request) {
	cfg := srv.cfg
	protocol := cfg.chooseProtocol(r, transports.OfferedSubprotocols(r))
	s, refused := srv.newSession(r, protocol, true)
	if refused != nil {
		transports.WriteError(w, http.StatusServiceUnavailable, uint16(refused.Code), refused.Reason)
		return
	}
	ws, err := srv.upgrader.Upgrade(w, r, true, protocol, cfg.MaxMessageSize, cfg.WriteTimeout)
	if err != nil {
		s.end(&polysock.CloseError{Code: polysock.CloseAbnormal, Reason: "upgrade failed"})
		return
	}
	if s.attach(ws, 0, false) != nil {
		// Only Shutdown can end the session before its carrier came: the client gets the
		// session's close code, and no read loop waits on a connection nobody closes.
		s.mu.Lock()
		ce := s.endErr
		s.mu.Unlock()
		code := uint16(ce.Code)
		if !wire.ValidCloseCode(code) {
			code = wire.CloseNormal
		}
		ws.CloseWith(code, ce.Reason)
		return
	}
	srv.start(s)
	srv.goReadWebSocket(s, ws)
}

// receiveRaw takes one message of a raw session.
func (s *Session) receiveRaw(typ polysock.MessageType, data []byte) error {
	wt := wire.TypeBinary
	if typ == polysock.Text {
		wt = wire.TypeText
		// gorilla does not check text messages; a text message is valid UTF-8 on every
		// transport (PROTOCOL.md 1), so invalid text ends the session with 1007 as it
		// does on a polysock carrier.
		if !utf8.Valid(data) {
			return s.fail(&polysock.CloseError{Code: polysock.CloseInvalidPayload, Reason: "invalid UTF-8"})
		}
	}
	return s.receiveData(s.ctx, &wire.Frame{Type: wt, Data: data})
}
