package server

import (
	"net"
	"net/http"
)

// This file holds the per-client and per-session limits that are not the session
// engine's own (Options.MaxSessionsPerClient, Options.MaxPostsPerSession).

// clientAddress is the address Options.MaxSessionsPerClient counts r under.
func (c *config) clientAddress(r *http.Request) string {
	if c.ClientAddress != nil {
		return c.ClientAddress(r)
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
