package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/polysock/polysock/broker"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// This file is the cluster policy (docs/SCALING.md): with a broker.Router, a session id
// starts with the id of the node that owns the session ("<node>_<random>"), and a request
// for another node's session is passed to that node, once. When the owner is gone the
// client gets the answer for an unknown session (4004): its replay state died with the
// node.

// idSeparator ends the node id at the start of a session id. Node ids cannot hold it.
const idSeparator = "_"

// lookupTimeout bounds the search for a session's owner.
const lookupTimeout = 2 * time.Second

// newSessionID is a new session id: random, after the node id in a cluster.
func (srv *Server) newSessionID() string {
	if srv.router != nil {
		return srv.router.NodeID() + idSeparator + randomID()
	}
	return randomID()
}

// owner returns the node id of a session id when it is another node's, or "".
func (srv *Server) owner(sid string) string {
	node, _, ok := strings.Cut(sid, idSeparator)
	if !ok || node == srv.router.NodeID() || !broker.ValidNodeID(node) {
		return ""
	}
	return node
}

// route passes r to the node that owns its session, when that is another node, and
// reports whether it answered r. Only polysock requests that name a session are routed,
// and never one that a node already forwarded (it is served here: an unknown session).
func (srv *Server) route(w http.ResponseWriter, r *http.Request) bool {
	if srv.router == nil || r.Header.Get(transports.ForwardedHeader) != "" ||
		(r.Method != http.MethodGet && r.Method != http.MethodPost) {
		return false
	}
	q := r.URL.Query()
	if !q.Has(wire.ParamVersion) {
		return false
	}
	node := srv.owner(q.Get(wire.ParamSession))
	if node == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(r.Context(), lookupTimeout)
	target, err := srv.router.NodeURL(ctx, node)
	cancel()
	switch {
	case errors.Is(err, broker.ErrUnknownNode):
		srv.refuse(w, r, wire.CloseUnknownSession, "unknown session")
	case err != nil:
		srv.cfg.log.Warn("polysock: cannot find the owner of a session", "node", node, "err", err)
		srv.refuse(w, r, wire.CloseTryAgainLater, "session owner not found")
	default:
		srv.forwarded.Add(1)
		ctx, cancel := context.WithCancelCause(r.Context())
		stop := context.AfterFunc(srv.forwarding, func() { cancel(context.Cause(srv.forwarding)) })
		srv.forwarder.Forward(w, r.WithContext(ctx), target)
		stop()
		cancel(nil)
	}
	return true
}

// errShutdown ends the requests being passed to other nodes when Shutdown starts.
var errShutdown = errors.New("polysock: server shutting down")

// forwardFailed answers a request whose owner did not answer: a node that refuses
// connections is dead, and its sessions with it (4004); any other failure (a connection
// that timed out, the owner overloaded or out of reach; a kept-alive connection the owner
// had closed; this node shutting down) is a lost carrier for the client, which tries
// again, until the owner answers or its registration expires (then 4004 without a dial).
func (srv *Server) forwardFailed(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && !errors.Is(context.Cause(r.Context()), errShutdown) {
		return // the client went away
	}
	if transports.IsRefused(err) {
		srv.refuse(w, r, wire.CloseUnknownSession, "unknown session")
		return
	}
	srv.cfg.log.Debug("polysock: forwarding failed", "err", err)
	transports.WriteBadGateway(w)
}

// refuse answers a routed request with code, as the owner would have: a WebSocket close
// after the upgrade (a browser can read that), or the HTTP error answer.
func (srv *Server) refuse(w http.ResponseWriter, r *http.Request, code uint16, reason string) {
	if transports.IsWebSocketUpgrade(r) {
		ws, err := srv.upgrader.Upgrade(w, r, false, "", srv.cfg.MaxBatchSize, srv.cfg.WriteTimeout)
		if err != nil {
			return
		}
		ws.CloseWith(code, reason)
		return
	}
	transports.WriteErrorAs(w, errorForm(r), statusOf(code), code, reason)
}
