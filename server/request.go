package server

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/polysock/polysock/internal/wire"
)

// params are the protocol's query parameters of a carrier request (PROTOCOL.md section 2).
type params struct {
	polysock  bool // ps_v present
	version   string
	transport string
	encoding  string
	sid, tok  string
	ack       uint64
	hasAck    bool // ps_ack present (required on a resuming GET or upgrade)
	protocols []string
}

// parseParams reads the ps_* parameters. Its error is the reason for a 4002 answer.
func parseParams(r *http.Request) (params, string) {
	q := r.URL.Query()
	var p params
	for _, name := range []string{wire.ParamVersion, wire.ParamTransport, wire.ParamEncoding, wire.ParamSession, wire.ParamToken, wire.ParamAck, wire.ParamProtocols} {
		if len(q[name]) > 1 {
			return p, "parameter " + name + " repeated"
		}
	}
	_, p.polysock = q[wire.ParamVersion]
	p.version = q.Get(wire.ParamVersion)
	p.transport = q.Get(wire.ParamTransport)
	p.encoding = q.Get(wire.ParamEncoding)
	p.sid, p.tok = q.Get(wire.ParamSession), q.Get(wire.ParamToken)
	if p.sid != "" || p.tok != "" {
		if !wire.ValidSessionID(p.sid) || p.tok == "" {
			return p, "bad " + wire.ParamSession + " or " + wire.ParamToken
		}
		if a := q.Get(wire.ParamAck); a != "" {
			p.hasAck = true
			n, err := wire.ParseCount(a)
			if err != nil {
				return p, "bad " + wire.ParamAck
			}
			p.ack = n
		}
	}
	if v := q.Get(wire.ParamProtocols); v != "" {
		p.protocols = strings.Split(v, ",")
		seen := map[string]bool{}
		for _, proto := range p.protocols {
			if !isToken(proto) || seen[proto] {
				return p, "bad " + wire.ParamProtocols
			}
			seen[proto] = true
		}
	}
	return p, ""
}

// isToken reports whether s is an RFC 7230 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// chooseProtocol applies the subprotocol policy to the client's offer.
func (c *config) chooseProtocol(r *http.Request, offered []string) string {
	if len(offered) == 0 {
		return ""
	}
	if c.SelectSubprotocol != nil {
		chosen := c.SelectSubprotocol(r, offered)
		for _, o := range offered {
			if o == chosen {
				return chosen
			}
		}
		return ""
	}
	for _, supported := range c.Subprotocols {
		for _, o := range offered {
			if o == supported {
				return o
			}
		}
	}
	return ""
}

// sessionRequest is the opening request as the application sees it: no body, no ps_*
// parameters, the session's context.
func sessionRequest(r *http.Request, ctx context.Context) *http.Request {
	req := r.WithContext(ctx)
	req.Body = http.NoBody
	req.GetBody = nil
	u := *r.URL
	q := u.Query()
	changed := false
	for k := range q {
		if strings.HasPrefix(k, "ps_") {
			delete(q, k)
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	req.URL = &u
	req.RequestURI = u.RequestURI()
	return req
}

func tokenEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
