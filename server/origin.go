package server

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// endpointAllowed applies the origin policy of the polysock endpoint to r, the same for
// WebSocket upgrades, stream and poll GETs, POSTs and preflights: originAllowed, and no
// cross-site browser request without an Origin header.
//
// Browsers send Origin on every cross-origin request of the polysock clients (fetch, XHR,
// EventSource and WebSocket all run in CORS mode) and on every POST, so a request that a
// browser marks as coming from another site (Sec-Fetch-Site "cross-site" or
// "same-site") without one is a no-cors request (an <img> or <script> tag, a form
// navigation) whose origin cannot be checked. Refusing it closes the simple-request
// bypass: a cross-site page cannot open a session with the user's cookies through a
// request that skips the preflight and the Origin check. (The SockJS endpoint keeps
// originAllowed alone: its JSONP and iframe transports are such requests by design.)
func (c *config) endpointAllowed(r *http.Request) bool {
	if c.InsecureSkipOriginCheck {
		return true
	}
	if r.Header.Get("Origin") == "" {
		site := r.Header.Get("Sec-Fetch-Site")
		return site != "cross-site" && site != "same-site"
	}
	return c.originAllowed(r)
}

// originAllowed applies the origin policy (Options.AllowedOrigins) to r.
func (c *config) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || c.InsecureSkipOriginCheck {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Scheme == "" {
		return false // includes the opaque "null" origin
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, allowed := range c.AllowedOrigins {
		a, err := url.Parse(allowed)
		if err != nil || !strings.EqualFold(a.Scheme, u.Scheme) {
			continue
		}
		pattern, host := strings.ToLower(a.Host), strings.ToLower(u.Host)
		if pattern == host {
			return true
		}
		// An IPv6 literal's brackets are not a character class: "[::1]:8080" would
		// otherwise allow "1:8080". Such hosts are matched exactly, above.
		if strings.ContainsAny(pattern, "[]\\") {
			continue
		}
		if ok, _ := path.Match(pattern, host); ok {
			return true
		}
	}
	return false
}
