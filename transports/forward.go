package transports

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"syscall"
	"time"
)

// This file passes a request to another server (a cluster node that owns the session):
// plain requests, held polls, streams flushed as they come and WebSocket upgrades.

// ForwardedHeader marks a request that one node passed to another. A node never passes
// on a request that carries it, so a request is forwarded at most once.
const ForwardedHeader = "Polysock-Forwarded"

// forwardDialTimeout bounds the connection to the other node: a node that does not
// accept one in time gets a 502 answer, which the client retries.
const forwardDialTimeout = 2 * time.Second

// Forwarder passes requests to other servers. It is safe for concurrent use.
type Forwarder struct {
	rp *httputil.ReverseProxy
	tr *http.Transport
}

type targetKey struct{}

// NewForwarder returns a Forwarder that marks every request it passes with
// ForwardedHeader set to mark, and calls failed when the target did not answer (before any
// of the answer was written to w: failed writes the answer). A failure after the answer
// started cuts the response, which the client sees as a lost connection.
func NewForwarder(mark string, failed func(w http.ResponseWriter, r *http.Request, err error)) *Forwarder {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: forwardDialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(pr.In.Context().Value(targetKey{}).(*url.URL))
			pr.Out.Host = pr.In.Host // the origin policy compares Origin with the client's Host
			pr.SetXForwarded()
			pr.Out.Header.Set(ForwardedHeader, mark)
		},
		Transport:     tr,
		FlushInterval: -1, // streams: every write reaches the client at once
		ErrorLog:      log.New(discard{}, "", 0),
		ErrorHandler:  failed,
	}
	return &Forwarder{rp: rp, tr: tr}
}

// Forward passes r to target (scheme and host; r's path and query are kept) and copies
// the answer to w, a WebSocket upgrade included. It returns when the exchange is over.
func (f *Forwarder) Forward(w http.ResponseWriter, r *http.Request, target *url.URL) {
	r = r.WithContext(context.WithValue(r.Context(), targetKey{}, target))
	f.rp.ServeHTTP(w, r)
}

// CloseIdleConnections closes the kept-alive connections to other nodes that are idle.
func (f *Forwarder) CloseIdleConnections() { f.tr.CloseIdleConnections() }

// IsRefused reports whether err, given to the failed callback, is a connection the
// target refused: nothing listens at its address any more, its process is gone. A dial
// that timed out or failed otherwise is not: the node may be overloaded or briefly out of
// reach, and its registration's expiry decides whether it is dead.
func IsRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && errors.Is(err, syscall.ECONNREFUSED)
}

// WriteBadGateway answers a request whose target failed after the connection was made:
// 502 without a close code, which a client takes for a lost connection and retries.
func WriteBadGateway(w http.ResponseWriter) {
	http.Error(w, "session owner did not answer", http.StatusBadGateway)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
