package client

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/polysock/polysock/internal/wire"
)

// endpoint is the application's polysock URL (PROTOCOL.md section 2) in its http or https
// form, with the application's own query kept as written.
type endpoint struct {
	u    *url.URL      // scheme http or https, no user info, no fragment
	user *url.Userinfo // user info taken out of the URL, nil when none
}

// polysockParams are the query parameters the protocol owns.
var polysockParams = []string{
	wire.ParamVersion, wire.ParamTransport, wire.ParamEncoding, wire.ParamSession,
	wire.ParamToken, wire.ParamAck, wire.ParamProtocols, wire.ParamNonce,
}

// parseEndpoint checks rawURL and maps ws to http and wss to https. It refuses relative
// URLs (a Go program has no base to resolve them against), other schemes, fragments and
// URLs that already carry one of the protocol's own query parameters.
func parseEndpoint(rawURL string) (*endpoint, error) {
	if strings.ContainsRune(rawURL, '#') {
		return nil, errors.New("URL has a fragment")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	case "":
		return nil, fmt.Errorf("URL %q is not absolute (want ws, wss, http or https)", rawURL)
	default:
		return nil, fmt.Errorf("unsupported URL scheme %q (want ws, wss, http or https)", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", rawURL)
	}
	for _, kv := range strings.Split(u.RawQuery, "&") {
		key, _, _ := strings.Cut(kv, "=")
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		for _, p := range polysockParams {
			if key == p {
				return nil, fmt.Errorf("URL already has the polysock parameter %q", p)
			}
		}
	}
	e := &endpoint{u: u, user: u.User}
	u.User = nil
	u.ForceQuery = false
	return e, nil
}

// carrierParams are the polysock query parameters of one carrier request.
type carrierParams struct {
	version   string // ps_v; empty means wire.Version (tests send others to check refusals)
	transport string // ps_t; empty for a WebSocket upgrade
	encoding  string // ps_e; empty for the default
	sid       string // ps_sid; empty to open a new session
	token     string // ps_tok, with sid
	ack       uint64 // ps_ack, with sid
	noAck     bool   // leave ps_ack out (a POST, whose ACK travels in its body)
	protocols []string
}

// url returns the endpoint with the application's query followed by the polysock
// parameters, in its ws or wss form when ws is true and its http or https form otherwise.
func (e *endpoint) url(ws bool, p carrierParams) string {
	u := *e.u
	if ws {
		u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	}
	var q strings.Builder
	q.WriteString(u.RawQuery)
	add := func(key, value string) {
		if q.Len() > 0 {
			q.WriteByte('&')
		}
		q.WriteString(key)
		q.WriteByte('=')
		q.WriteString(url.QueryEscape(value))
	}
	v := p.version
	if v == "" {
		v = strconv.Itoa(wire.Version)
	}
	add(wire.ParamVersion, v)
	if p.transport != "" {
		add(wire.ParamTransport, p.transport)
	}
	if p.encoding != "" {
		add(wire.ParamEncoding, p.encoding)
	}
	if p.sid != "" {
		add(wire.ParamSession, p.sid)
		add(wire.ParamToken, p.token)
		if !p.noAck {
			add(wire.ParamAck, strconv.FormatUint(p.ack, 10))
		}
	}
	if len(p.protocols) > 0 {
		add(wire.ParamProtocols, strings.Join(p.protocols, ","))
	}
	u.RawQuery = q.String()
	return u.String()
}
