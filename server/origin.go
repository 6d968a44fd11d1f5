package server

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

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
		if ok, _ := path.Match(strings.ToLower(a.Host), strings.ToLower(u.Host)); ok {
			return true
		}
	}
	return false
}
