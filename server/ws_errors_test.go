package server_test

import (
	"fmt"
	"net/url"
	"regexp"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/server"
)

// versionsRe finds the list of versions the server speaks, "1", in a 4001 reason.
var versionsRe = regexp.MustCompile(`(^|[^0-9.])1($|[^0-9.])`)

// Bad requests before OPEN are reported by accepting the upgrade and closing the
// WebSocket with the code of PROTOCOL.md section 9 (section 8.1), at once.
func TestWebSocketRequestErrors(t *testing.T) {
	e := newWSEnv(t, nil, nil)
	healthy := e.openPS("")
	healthy.echo(polysock.Text, []byte("first"))
	sid, tok := healthy.open.Session, healthy.open.Token
	cases := []struct {
		name  string
		query string
		code  int
	}{
		{"version 2", "ps_v=2", polysock.CloseUnsupportedVersion},
		{"version abc", "ps_v=abc", polysock.CloseUnsupportedVersion},
		{"empty version", "ps_v=", polysock.CloseUnsupportedVersion},
		{"version 01", "ps_v=01", polysock.CloseUnsupportedVersion},
		{"version 2 with parameters version 1 rejects", "ps_v=2&ps_p=a,a&ps_sid=x.y", polysock.CloseUnsupportedVersion},
		{"empty ps_ack on resume", fmt.Sprintf("ps_v=1&ps_sid=%s&ps_tok=%s&ps_ack=", sid, tok), polysock.CloseBadRequest},
		{"repeated ps_v", "ps_v=1&ps_v=1", polysock.CloseBadRequest},
		{"repeated ps_p", "ps_v=1&ps_p=a&ps_p=b", polysock.CloseBadRequest},
		{"repeated ps_sid", fmt.Sprintf("ps_v=1&ps_sid=%s&ps_sid=%s&ps_tok=%s&ps_ack=0", sid, sid, tok), polysock.CloseBadRequest},
		{"repeated ps_ack", fmt.Sprintf("ps_v=1&ps_sid=%s&ps_tok=%s&ps_ack=0&ps_ack=0", sid, tok), polysock.CloseBadRequest},
		{"duplicate subprotocol", "ps_v=1&ps_p=chat,chat", polysock.CloseBadRequest},
		{"non-token subprotocol", "ps_v=1&ps_p=" + url.QueryEscape("a b"), polysock.CloseBadRequest},
		{"empty subprotocol", "ps_v=1&ps_p=a,,b", polysock.CloseBadRequest},
		{"subprotocol with separator", "ps_v=1&ps_p=" + url.QueryEscape("a/b"), polysock.CloseBadRequest},
		{"session without token", "ps_v=1&ps_ack=0&ps_sid=" + sid, polysock.CloseBadRequest},
		{"malformed session id", "ps_v=1&ps_sid=a.b&ps_tok=x&ps_ack=0", polysock.CloseBadRequest},
		{"resume without ps_ack", fmt.Sprintf("ps_v=1&ps_sid=%s&ps_tok=%s", sid, tok), polysock.CloseBadRequest},
		{"ps_ack with leading zero", fmt.Sprintf("ps_v=1&ps_sid=%s&ps_tok=%s&ps_ack=01", sid, tok), polysock.CloseBadRequest},
		{"negative ps_ack", fmt.Sprintf("ps_v=1&ps_sid=%s&ps_tok=%s&ps_ack=-1", sid, tok), polysock.CloseBadRequest},
		{"ps_ack above 2^53-1", fmt.Sprintf("ps_v=1&ps_sid=%s&ps_tok=%s&ps_ack=9007199254740992", sid, tok), polysock.CloseBadRequest},
		{"wrong token", fmt.Sprintf("ps_v=1&ps_sid=%s&ps_tok=%s&ps_ack=0", sid, "A"+tok[1:]+"x"), polysock.CloseUnknownSession},
		{"token of another length", fmt.Sprintf("ps_v=1&ps_sid=%s&ps_tok=%s&ps_ack=0", sid, tok[:10]), polysock.CloseUnknownSession},
		{"unknown session", fmt.Sprintf("ps_v=1&ps_sid=nosuchsession&ps_tok=%s&ps_ack=0", tok), polysock.CloseUnknownSession},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, _, err := e.dial(tc.query, nil)
			if err != nil {
				t.Fatalf("upgrade refused (%v): errors before OPEN must be WebSocket closes", err)
			}
			reason := expectWSClose(t, ws, tc.code)
			if tc.code == polysock.CloseUnsupportedVersion && !versionsRe.MatchString(reason) {
				t.Fatalf("4001 reason %q does not name version 1", reason)
			}
			if tc.code == polysock.CloseUnknownSession && reason != "unknown session" {
				// A wrong token and an unknown id get the same answer (PROTOCOL.md 3).
				t.Fatalf("4004 reason %q differs from the unknown-session answer", reason)
			}
			healthy.t = t
			healthy.echo(polysock.Text, []byte(fmt.Sprint("after ", i)))
			healthy.t = e.t
		})
	}
	if s := e.srv.Stats(); s.Sessions != 1 || s.Opened != 1 {
		t.Fatalf("Stats() = %+v: bad requests must not open sessions", s)
	}
}

// Protocol violations on an open carrier end that session with the code of PROTOCOL.md
// section 9; the handler's Read sees the same code; other sessions are unaffected.
func TestWebSocketProtocolViolations(t *testing.T) {
	e := newWSEnv(t, nil, nil)
	healthy := e.openPS("")
	cases := []struct {
		name string
		send func(c *psConn)
		code int
	}{
		{"garbage bytes", func(c *psConn) { c.sendRaw([]byte{0xff, 0xfe, 0xfd}) }, polysock.CloseProtocolError},
		{"unknown frame type", func(c *psConn) { c.sendRaw([]byte{0x08, 0x00}) }, polysock.CloseProtocolError},
		{"truncated batch", func(c *psConn) {
			f := c.text("hello")
			c.sendRaw(wire.AppendBinary(nil, &f)[:4])
		}, polysock.CloseProtocolError},
		{"valid frame then truncated frame", func(c *psConn) {
			a, b := c.text("ok"), c.text("cut")
			c.sendRaw(wire.AppendBinary(wire.AppendBinary(nil, &a), &b)[:7])
		}, polysock.CloseProtocolError},
		{"non-minimal varint", func(c *psConn) { c.sendRaw([]byte{byte(wire.TypeAck), 0x02, 0x80, 0x00}) }, polysock.CloseProtocolError},
		{"sequence number 0", func(c *psConn) { c.send(wire.Frame{Type: wire.TypeText, Seq: 0, Data: []byte("x")}) }, polysock.CloseProtocolError},
		{"sequence gap", func(c *psConn) { c.send(wire.Frame{Type: wire.TypeText, Seq: 2, Data: []byte("x")}) }, polysock.CloseProtocolError},
		{"gap after messages", func(c *psConn) {
			c.echo(polysock.Text, []byte("one"))
			c.send(wire.Frame{Type: wire.TypeBinary, Seq: 3})
		}, polysock.CloseProtocolError},
		{"ACK beyond sent", func(c *psConn) { c.send(wire.Frame{Type: wire.TypeAck, Seq: 1}) }, polysock.CloseProtocolError},
		{"ACK beyond sent after messages", func(c *psConn) {
			c.autoAck = false
			c.echo(polysock.Text, []byte("one"))
			c.send(wire.Frame{Type: wire.TypeAck, Seq: 2})
		}, polysock.CloseProtocolError},
		{"OPEN from the client", func(c *psConn) { c.send(wire.Frame{Type: wire.TypeOpen, Data: []byte("{}")}) }, polysock.CloseProtocolError},
		{"PING above 125 bytes", func(c *psConn) {
			c.sendRaw(append([]byte{byte(wire.TypePing), 126}, make([]byte, 126)...))
		}, polysock.CloseProtocolError},
		{"CLOSE with invalid code", func(c *psConn) { c.sendRaw([]byte{byte(wire.TypeClose), 2, 0x03, 0xed}) }, polysock.CloseProtocolError},
		{"TEXT with invalid UTF-8", func(c *psConn) { c.send(wire.Frame{Type: wire.TypeText, Seq: 1, Data: []byte("a\xffb")}) }, polysock.CloseInvalidPayload},
		{"TEXT with a surrogate", func(c *psConn) { c.send(wire.Frame{Type: wire.TypeText, Seq: 1, Data: []byte("\xed\xa0\x80")}) }, polysock.CloseInvalidPayload},
		{"CLOSE reason with invalid UTF-8", func(c *psConn) {
			c.send(wire.Frame{Type: wire.TypeClose, Code: 1000, Data: []byte{0xff}})
		}, polysock.CloseInvalidPayload},
		{"text WebSocket message", func(c *psConn) {
			if err := c.ws.WriteMessage(websocket.TextMessage, []byte("t1:\"hi\"")); err != nil {
				t.Fatal(err)
			}
		}, polysock.CloseUnsupportedData},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.openPS("")
			c.t = t
			tc.send(c)
			code, reason, _ := c.closeOf()
			ce := e.endOf(c.open.Session)
			if code != tc.code {
				t.Fatalf("closed with %d %q, want %d", code, reason, tc.code)
			}
			if ce.Code != tc.code {
				t.Fatalf("handler saw %+v, want code %d", ce, tc.code)
			}
			healthy.t = t
			healthy.echo(polysock.Text, []byte("still here after "+tc.name))
			healthy.t = e.t
		})
	}
	// Each failed session left the registry before its handler saw the end.
	if s := e.srv.Stats(); s.Sessions != 1 {
		t.Fatalf("Stats() = %+v, want only the healthy session", s)
	}
}

func TestWebSocketMaxSessions(t *testing.T) {
	e := newWSEnv(t, nil, &server.Options{MaxSessions: 1})
	first := e.openPS("")
	ws := e.mustDial("ps_v=1")
	expectWSClose(t, ws, polysock.CloseTryAgainLater)
	// A raw client gets the HTTP answer (it has no polysock framing to carry a close code
	// before the upgrade).
	_, resp, err := e.dial("", nil)
	if err == nil || resp == nil || resp.StatusCode != 503 || resp.Header.Get("X-PolySock-Close") != "1013" {
		t.Fatalf("raw dial at the session limit: err %v, response %v: want 503 with X-PolySock-Close 1013", err, resp)
	}
	first.echo(polysock.Text, []byte("the first session works"))
	// Once a session ends there is room again.
	first.send(wire.Frame{Type: wire.TypeClose, Code: 1000})
	first.expectClose(1000)
	waitFor(t, "the closed session to leave the registry", func() bool { return e.srv.Stats().Sessions == 0 })
	e.openPS("").echo(polysock.Binary, []byte("room again"))
}
