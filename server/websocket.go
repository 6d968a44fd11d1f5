package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// serveWebSocket serves a WebSocket upgrade: a polysock carrier (ps_v present) or a raw
// session. The request's goroutine becomes the carrier's reader.
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
	switch {
	case bad != "":
		ws.CloseWith(wire.CloseBadRequest, bad)
		return
	case p.version != strconv.Itoa(wire.Version):
		ws.CloseWith(wire.CloseUnsupportedVersion, "unsupported protocol version; this server speaks 1")
		return
	}
	var s *Session
	resumed := p.sid != ""
	if resumed {
		if s = srv.lookup(p.sid, p.tok); s == nil {
			ws.CloseWith(wire.CloseUnknownSession, "unknown session")
			return
		}
		srv.resumed.Add(1)
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
	srv.readWebSocket(s, ws)
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
			s.detach(ws, carrierError(err))
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
	_ = s.attach(ws, 0, false)
	srv.start(s)
	srv.readWebSocket(s, ws)
}

// receiveRaw takes one message of a raw session.
func (s *Session) receiveRaw(typ polysock.MessageType, data []byte) error {
	wt := wire.TypeBinary
	if typ == polysock.Text {
		wt = wire.TypeText
	}
	return s.receiveData(s.ctx, &wire.Frame{Type: wt, Data: data})
}
