package server

import (
	"net/http"
	"net/netip"
)

// This file holds what Options.MaxSessionsPerClient counts sessions under; the limit
// itself is applied in Server.newSession, and Options.MaxPostsPerSession in servePost.

// clientAddress is the address Options.MaxSessionsPerClient counts r under: the
// ClientAddress option's, or the IP address of r.RemoteAddr. An IPv6 address counts as
// its /64 network, which one host commonly owns whole: otherwise one client could
// open sessions from any number of addresses.
func (c *config) clientAddress(r *http.Request) string {
	if c.ClientAddress != nil {
		return c.ClientAddress(r)
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.WithZone("").Prefix(64)
		return p.String()
	}
	return ip.String()
}
