package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/server"
)

func TestOriginPolicy(t *testing.T) {
	cases := []struct {
		name    string
		opts    *server.Options
		origin  string // "" sends none; "self" sends the endpoint's own origin
		allowed bool
	}{
		{"no Origin header", nil, "", true},
		{"same origin", nil, "self", true},
		{"other origin", nil, "http://evil.example", false},
		{"opaque null origin", nil, "null", false},
		{"same host, other port", nil, "http://127.0.0.1:1", false},
		{"allow-listed", &server.Options{AllowedOrigins: []string{"https://app.example.com"}}, "https://app.example.com", true},
		{"wildcard", &server.Options{AllowedOrigins: []string{"https://*.example.com"}}, "https://chat.example.com", true},
		{"wildcard, case-insensitive", &server.Options{AllowedOrigins: []string{"https://*.example.com"}}, "https://Chat.Example.COM", true},
		{"wildcard, other scheme", &server.Options{AllowedOrigins: []string{"https://*.example.com"}}, "http://chat.example.com", false},
		{"wildcard, other domain", &server.Options{AllowedOrigins: []string{"https://*.example.com"}}, "https://example.org", false},
		{"wildcard, suffix trick", &server.Options{AllowedOrigins: []string{"https://*.example.com"}}, "https://evil.example.com.attacker.net", false},
		{"wildcard, deeper subdomain", &server.Options{AllowedOrigins: []string{"https://*.example.com"}}, "https://a.b.example.com", true},
		{"wildcard, bare domain", &server.Options{AllowedOrigins: []string{"https://*.example.com"}}, "https://example.com", false},
		{"wildcard, other port", &server.Options{AllowedOrigins: []string{"https://*.example.com"}}, "https://chat.example.com:8443", false},
		{"IPv6 literal", &server.Options{AllowedOrigins: []string{"http://[::1]:8080"}}, "http://[::1]:8080", true},
		{"IPv6 literal is not a character class", &server.Options{AllowedOrigins: []string{"http://[::1]:8080"}}, "http://1:8080", false},
		{"cross-site browser request without Origin", nil, "cross-site", false},
		{"same-site browser request without Origin", nil, "same-site", false},
		{"same-origin browser request without Origin", nil, "same-origin", true},
		{"insecure skip", &server.Options{InsecureSkipOriginCheck: true}, "http://evil.example", true},
		{"insecure skip, cross-site without Origin", &server.Options{InsecureSkipOriginCheck: true}, "cross-site", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newWSEnv(t, nil, tc.opts)
			hdr := http.Header{}
			switch tc.origin {
			case "":
			case "self":
				hdr.Set("Origin", e.hs.URL)
			case "cross-site", "same-site", "same-origin": // Sec-Fetch-Site, no Origin
				hdr.Set("Sec-Fetch-Site", tc.origin)
			default:
				hdr.Set("Origin", tc.origin)
			}
			for _, q := range []string{"ps_v=1", ""} { // polysock and raw upgrades: one policy
				ws, resp, err := e.dial(q, hdr)
				if tc.allowed {
					if err != nil {
						t.Fatalf("query %q: upgrade refused: %v", q, err)
					}
					if q == "" {
						rawEcho(t, ws, websocket.TextMessage, []byte("allowed"))
					}
					ws.Close()
					continue
				}
				if err == nil {
					t.Fatalf("query %q: a disallowed origin was upgraded", q)
				}
				if resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Fatalf("query %q: got %v, want HTTP 403", q, err)
				}
				body, _ := io.ReadAll(resp.Body)
				if resp.Header.Get("X-PolySock-Close") != "1008" ||
					resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
					!strings.Contains(resp.Header.Get("Cache-Control"), "no-store") ||
					!strings.HasPrefix(string(body), "1008 ") || !strings.HasSuffix(string(body), "\n") {
					t.Fatalf("query %q: 403 answer %v %q does not follow PROTOCOL.md 9.1", q, resp.Header, body)
				}
			}
			if !tc.allowed && e.srv.Stats().Opened != 0 {
				t.Fatal("a refused request opened a session")
			}
		})
	}
}

func TestSubprotocols(t *testing.T) {
	t.Run("Options.Subprotocols", func(t *testing.T) {
		e := newWSEnv(t, nil, &server.Options{Subprotocols: []string{"v2", "v1"}})
		for _, tc := range []struct{ offer, want string }{
			{"ps_p=v1,v2", "v2"}, // the server's preference wins
			{"ps_p=v1", "v1"},
			{"ps_p=v3,x", ""},
			{"", ""},
		} {
			c := e.openPS(tc.offer)
			s := e.session()
			if c.open.Protocol != tc.want || s.Protocol() != tc.want {
				t.Fatalf("offer %q: OPEN protocol %q, session %q, want %q", tc.offer, c.open.Protocol, s.Protocol(), tc.want)
			}
			c.echo(polysock.Text, []byte(tc.offer))
		}
	})
	t.Run("Options.SelectSubprotocol", func(t *testing.T) {
		var offers [][]string
		e := newWSEnv(t, nil, &server.Options{
			Subprotocols: []string{"ignored"},
			SelectSubprotocol: func(r *http.Request, offered []string) string {
				offers = append(offers, offered) // called in the upgrading request, before the handler
				if r.URL.Query().Get("pick") == "unoffered" {
					return "zzz"
				}
				return offered[len(offered)-1]
			},
		})
		c := e.openPS("ps_p=a,b,c&pick=last")
		if s := e.session(); c.open.Protocol != "c" || s.Protocol() != "c" {
			t.Fatalf("OPEN protocol %q, session %q, want c", c.open.Protocol, s.Protocol())
		}
		if len(offers) != 1 || strings.Join(offers[0], ",") != "a,b,c" {
			t.Fatalf("SelectSubprotocol saw %q, want [a b c]", offers)
		}
		c = e.openPS("ps_p=a,ignored&pick=unoffered")
		if c.open.Protocol != "" || e.session().Protocol() != "" {
			t.Fatalf("a value that was not offered was chosen: %q", c.open.Protocol)
		}
	})
	t.Run("kept on resume", func(t *testing.T) {
		e := newWSEnv(t, nil, &server.Options{Subprotocols: []string{"v1", "v2"}})
		c := e.openPS("ps_p=v1")
		c.echo(polysock.Text, []byte("x"))
		r := e.openPS(fmt.Sprintf("ps_sid=%s&ps_tok=%s&ps_ack=1&ps_p=v2", c.open.Session, c.open.Token))
		if !r.open.Resumed || r.open.Protocol != "v1" {
			t.Fatalf("resume OPEN = %+v, want resumed with protocol v1", r.open)
		}
	})
	t.Run("polysock upgrade never uses Sec-WebSocket-Protocol", func(t *testing.T) {
		e := newWSEnv(t, nil, &server.Options{Subprotocols: []string{"v1"}})
		d := &websocket.Dialer{HandshakeTimeout: wsGuard, Subprotocols: []string{"v1"}}
		ws, resp, err := e.dialWith(d, "ps_v=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if ws.Subprotocol() != "" || resp.Header.Get("Sec-WebSocket-Protocol") != "" {
			t.Fatalf("polysock upgrade answered Sec-WebSocket-Protocol %q", ws.Subprotocol())
		}
		if s := e.session(); s.Protocol() != "" {
			t.Fatalf("session protocol %q from Sec-WebSocket-Protocol, want \"\" (ps_p only)", s.Protocol())
		}
	})
}

// Request is the opening request without the protocol's own parameters; a resume does
// not change it.
func TestSessionRequest(t *testing.T) {
	e := newWSEnv(t, nil, nil)
	c := e.openPSHeader("room=blue&ps_p=x&user=ann", http.Header{"X-App": {"yes"}, "Cookie": {"k=v"}})
	s := e.session()
	r := s.Request()
	q := r.URL.Query()
	if q.Get("room") != "blue" || q.Get("user") != "ann" || len(q) != 2 {
		t.Fatalf("Request URL query %q, want room and user only", r.URL.RawQuery)
	}
	if strings.Contains(r.URL.RawQuery, "ps_") || strings.Contains(r.RequestURI, "ps_") {
		t.Fatalf("Request shows protocol parameters: %q / %q", r.URL.RawQuery, r.RequestURI)
	}
	if r.URL.Path != "/rt" || r.Header.Get("X-App") != "yes" || r.Method != http.MethodGet {
		t.Fatalf("Request: %s %s, X-App %q", r.Method, r.URL.Path, r.Header.Get("X-App"))
	}
	if ck, err := r.Cookie("k"); err != nil || ck.Value != "v" {
		t.Fatalf("Request cookie: %v %v", ck, err)
	}
	if r.Context().Err() != nil {
		t.Fatal("Request's context is done while the session lives")
	}
	c.echo(polysock.Text, []byte("x"))
	c.drop()
	rs := e.openPSHeader(fmt.Sprintf("room=red&ps_sid=%s&ps_tok=%s&ps_ack=1", c.open.Session, c.open.Token), http.Header{"X-App": {"no"}})
	rs.sent, rs.accepted = c.sent, c.accepted
	rs.echo(polysock.Text, []byte("y"))
	if r := s.Request(); r.URL.Query().Get("room") != "blue" || r.Header.Get("X-App") != "yes" {
		t.Fatalf("Request changed on resume: %q %q", r.URL.RawQuery, r.Header.Get("X-App"))
	}
	rs.send(wire.Frame{Type: wire.TypeClose, Code: 1000})
	rs.expectClose(1000)
	waitDone(t, s.Context())
	if s.Request().Context().Err() == nil {
		t.Fatal("Request's context is not done after the session ended")
	}
}

func TestHandlerPanic(t *testing.T) {
	e := newWSEnv(t, func(e *wsEnv, s *server.Session) {
		if s.Request().URL.Query().Get("panic") != "" {
			panic("handler bug")
		}
		wsEcho(e, s)
	}, nil)
	healthy := e.openPS("")
	for i := range 3 {
		// The panic may come before OPEN is written; either way the carrier closes 1011.
		ws := e.mustDial("ps_v=1&panic=1")
		expectWSClose(t, ws, polysock.CloseInternalError)
		raw := e.mustDial("panic=1")
		expectWSClose(t, raw, polysock.CloseInternalError)
		healthy.echo(polysock.Text, []byte(fmt.Sprint("still serving ", i)))
	}
	e.openPS("").echo(polysock.Text, []byte("new sessions too"))
}

// When the handler returns, the session is closed with 1000 (a clean close handshake).
func TestHandlerReturn(t *testing.T) {
	e := newWSEnv(t, func(e *wsEnv, s *server.Session) {
		_ = s.Write(context.Background(), polysock.Text, []byte("only message"))
	}, nil)
	c := e.openPS("")
	s := e.session()
	if _, data := c.mustRead(); string(data) != "only message" {
		t.Fatalf("got %q", data)
	}
	_, _, err := c.read()
	var cf *closeFrame
	if !errors.As(err, &cf) || cf.code != 1000 {
		t.Fatalf("got %v, want CLOSE 1000", err)
	}
	c.send(wire.Frame{Type: wire.TypeClose, Code: 1000})
	expectWSClose(t, c.ws, 1000)
	waitDone(t, s.Context())
	if _, _, err := s.Read(context.Background()); polysock.CloseStatus(err) != 1000 {
		t.Fatalf("Read after the end = %v, want code 1000", err)
	}
	var ce *polysock.CloseError
	if err := s.Write(context.Background(), polysock.Text, nil); !errors.As(err, &ce) || !ce.WasClean {
		t.Fatalf("Write after the end = %v, want the clean close error", err)
	}
}

func TestWriteErrors(t *testing.T) {
	errs := make(chan error, 4)
	e := newWSEnv(t, func(e *wsEnv, s *server.Session) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		errs <- s.Write(context.Background(), polysock.Text, []byte("\xff"))
		errs <- s.Write(context.Background(), polysock.MessageType(9), []byte("x"))
		errs <- s.Write(ctx, polysock.Text, []byte("x"))
		close(errs)
		wsEcho(e, s)
	}, nil)
	c := e.openPS("")
	var got []error
	for err := range errs {
		got = append(got, err)
	}
	if got[0] == nil || got[1] == nil || !errors.Is(got[2], context.Canceled) {
		t.Fatalf("Write errors %v: want invalid UTF-8, unknown type, context.Canceled", got)
	}
	for _, err := range got {
		if polysock.CloseStatus(err) != -1 {
			t.Fatalf("a rejected Write ended the session: %v", err)
		}
	}
	c.echo(polysock.Text, []byte("nothing was sent for the rejected writes"))
}

// A client that does not acknowledge makes the outbox pass OutboxBytes: the session
// closes with 4008 and Write says so.
func TestOutboxFull(t *testing.T) {
	werr := make(chan error, 1)
	e := newWSEnv(t, func(e *wsEnv, s *server.Session) {
		ctx := context.Background()
		for {
			if err := s.Write(ctx, polysock.Binary, make([]byte, 400)); err != nil {
				werr <- err
				return
			}
		}
	}, &server.Options{OutboxBytes: 1000})
	// The session may fail before its OPEN went out: read the carrier raw.
	ws := e.mustDial("ps_v=1")
	if err := <-werr; polysock.CloseStatus(err) != polysock.ClosePeerTooSlow {
		t.Fatalf("Write = %v, want 4008", err)
	}
	expectWSClose(t, ws, polysock.ClosePeerTooSlow)
}

func TestShutdown(t *testing.T) {
	e := newWSEnv(t, nil, nil)
	c := e.openPS("")
	s := e.session()
	c.echo(polysock.Text, []byte("before shutdown"))
	raw := e.mustDial("")
	rs := e.session()
	rawEcho(t, raw, websocket.TextMessage, []byte("raw before shutdown"))

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wsGuard)
		defer cancel()
		done <- e.srv.Shutdown(ctx)
	}()
	// The raw client gets the WebSocket close 1012 (gorilla answers it)...
	expectWSClose(t, raw, polysock.CloseServiceRestart)
	// ...the polysock client a CLOSE 1012, which it answers.
	_, _, err := c.read()
	var cf *closeFrame
	if !errors.As(err, &cf) || cf.code != polysock.CloseServiceRestart {
		t.Fatalf("got %v, want CLOSE 1012", err)
	}
	c.send(wire.Frame{Type: wire.TypeClose, Code: uint16(cf.code), Data: []byte(cf.reason)})
	if err := <-done; err != nil {
		t.Fatalf("Shutdown = %v, want nil once every client answered", err)
	}
	for _, ss := range []*server.Session{s, rs} {
		if ce := e.endOf(ss.ID()); ce.Code != polysock.CloseServiceRestart || !ce.WasClean {
			t.Fatalf("handler saw %+v, want 1012, clean", ce)
		}
		if ss.Context().Err() == nil {
			t.Fatal("a session's context is not done after Shutdown")
		}
	}
	if st := e.srv.Stats(); st.Sessions != 0 {
		t.Fatalf("Stats() = %+v after Shutdown, want no session", st)
	}
	// After Shutdown, new sessions are refused: 1012 (WebSocket close) and 503 (raw).
	ws := e.mustDial("ps_v=1")
	expectWSClose(t, ws, polysock.CloseServiceRestart)
	_, resp, err := e.dial("", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("X-PolySock-Close") != "1012" {
		t.Fatalf("raw dial after Shutdown: %v %v, want 503 with X-PolySock-Close 1012", err, resp)
	}
	// A resume after Shutdown is told to go elsewhere (1012), not that its session is lost.
	ws = e.mustDial(fmt.Sprintf("ps_v=1&ps_sid=%s&ps_tok=%s&ps_ack=1", c.open.Session, c.open.Token))
	expectWSClose(t, ws, polysock.CloseServiceRestart)
}

// Shutdown is bounded by its context: a handler that never returns, or a client that
// never answers, makes it return ctx's error, with every session ended.
func TestShutdownBoundedByContext(t *testing.T) {
	t.Run("handler never returns", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release) // before the leak check
		e := newWSEnv(t, func(e *wsEnv, s *server.Session) { <-release }, nil)
		c := e.openPS("")
		s := e.session()
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			done <- e.srv.Shutdown(ctx)
		}()
		c.expectClose(polysock.CloseServiceRestart)
		c.send(wire.Frame{Type: wire.TypeClose, Code: wire.CloseServiceRestart})
		if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
		}
		waitDone(t, s.Context())
	})
	t.Run("client never answers", func(t *testing.T) {
		e := newWSEnv(t, nil, nil)
		c := e.openPS("")
		s := e.session()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := e.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
		}
		if ce := e.endOf(s.ID()); ce.Code != polysock.CloseServiceRestart || ce.WasClean {
			t.Fatalf("handler saw %+v, want 1012, not clean", ce)
		}
		// The client got the CLOSE, then the carrier's close.
		if code, _, frame := c.closeOf(); code != polysock.CloseServiceRestart || !frame {
			t.Fatalf("client saw %d (frame %v), want CLOSE 1012", code, frame)
		}
		expectWSClose(t, c.ws, polysock.CloseServiceRestart)
	})
}
