package server

// Tests of the limits of issue 9 that have no home elsewhere: sessions per client
// address, POSTs in progress per session, the stream's hold time, the POST body's
// deadline, and the cross-site guard of requests without an Origin.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// A browser request marked cross-site (or same-site) by Sec-Fetch-Site that carries no
// Origin is a no-cors request (<img>, <script>, a form): it is refused on every method
// and on the WebSocket upgrade, even for a session's own id and token; the same request
// from a program (no Sec-Fetch-Site) or from the page's own origin is served.
func TestCrossSiteWithoutOrigin(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	c := e.newHTClient(true, transports.EncodingText)
	for _, site := range []string{"cross-site", "same-site"} {
		hdr := http.Header{"Sec-Fetch-Site": {site}}
		expectError(t, e.roundTrip(http.MethodGet, "ps_v=1&ps_t=poll", hdr, nil), http.StatusForbidden, wire.ClosePolicyViolation)
		expectError(t, e.roundTrip(http.MethodGet, c.getQuery(), hdr, nil), http.StatusForbidden, wire.ClosePolicyViolation)
		// A simple request (text/plain, no preflight) with the right id and token.
		hdr.Set("Content-Type", wire.ContentTypeText)
		body := c.encodePost(wire.Frame{Type: wire.TypeText, Seq: c.sent + 1, Data: []byte("forged")})
		expectError(t, e.roundTrip(http.MethodPost, c.postQuery(), hdr, body), http.StatusForbidden, wire.ClosePolicyViolation)
		ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.hs.URL, "http")+"/rt?ps_v=1", http.Header{"Sec-Fetch-Site": {site}})
		if err == nil {
			ws.Close()
			t.Fatalf("WebSocket upgrade with Sec-Fetch-Site %s and no Origin succeeded", site)
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("WebSocket upgrade with Sec-Fetch-Site %s: %v %v, want 403", site, resp, err)
		}
	}
	if got := e.srv.Stats().Opened; got != 1 {
		t.Fatalf("%d sessions opened, want 1", got)
	}
	// Nothing forged reached the session: the next message is number 1.
	for _, site := range []string{"", "same-origin", "none"} {
		hdr := http.Header{"Content-Type": {wire.ContentTypeText}}
		if site != "" {
			hdr.Set("Sec-Fetch-Site", site)
		}
		c.expectAck(e.roundTrip(http.MethodPost, c.postQuery(), hdr, c.encodePost(c.msg(polysock.Text, []byte(site)))))
		if f := c.nextData(); string(f.Data) != site {
			t.Fatalf("echo %q, want %q", f.Data, site)
		}
	}
	if c.recv != 3 {
		t.Fatalf("%d messages echoed, want 3", c.recv)
	}
}

// MaxSessionsPerClient refuses one more session from the same client address with
// 503 / 1013 (other addresses are served), and counts sessions that end as gone.
func TestMaxSessionsPerClient(t *testing.T) {
	t.Run("ClientAddress", func(t *testing.T) {
		e := newHTEnv(t, nil, &Options{MaxSessionsPerClient: 2, CloseTimeout: 20 * time.Millisecond,
			ClientAddress: func(r *http.Request) string { return r.Header.Get("X-Client") }})
		open := func(client string) answer {
			return e.roundTrip(http.MethodGet, "ps_v=1&ps_t=poll", http.Header{"X-Client": {client}}, nil)
		}
		for i := range 2 {
			if a := open("a"); a.status != http.StatusOK {
				t.Fatalf("session %d of a: %d %q", i, a.status, a.body)
			}
		}
		first := e.session()
		expectError(t, open("a"), http.StatusServiceUnavailable, wire.CloseTryAgainLater)
		if a := open("b"); a.status != http.StatusOK {
			t.Fatalf("session of b: %d %q", a.status, a.body)
		}
		_ = first.Close(polysock.CloseNormal, "")
		htWaitFor(t, "the closed session to end", func() bool { return e.srv.Stats().Sessions == 2 })
		if a := open("a"); a.status != http.StatusOK {
			t.Fatalf("session of a after one ended: %d %q", a.status, a.body)
		}
		expectError(t, open("a"), http.StatusServiceUnavailable, wire.CloseTryAgainLater)
	})
	t.Run("RemoteAddr", func(t *testing.T) {
		e := newWSEnvInternal(t, &Options{MaxSessionsPerClient: 1})
		ws := e.dial(t)
		defer ws.Close()
		if _, _, err := ws.ReadMessage(); err != nil { // OPEN
			t.Fatal(err)
		}
		// The second session from 127.0.0.1 (another port) is refused with close 1013.
		ws2 := e.dial(t)
		defer ws2.Close()
		_, _, err := ws2.ReadMessage()
		if !websocket.IsCloseError(err, int(polysock.CloseTryAgainLater)) {
			t.Fatalf("second WebSocket session from one address: %v, want close 1013", err)
		}
		expectError(t, e.roundTrip(http.MethodGet, "ps_v=1&ps_t=poll", nil, nil), http.StatusServiceUnavailable, wire.CloseTryAgainLater)
	})
}

// wsEnvInternal is an htEnv that also dials WebSocket carriers.
type wsEnvInternal struct{ *htEnv }

func newWSEnvInternal(t *testing.T, opts *Options) wsEnvInternal {
	return wsEnvInternal{newHTEnv(t, nil, opts)}
}

func (e wsEnvInternal) dial(t *testing.T) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.hs.URL, "http")+"/rt?ps_v=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(htGuard)) // hang guard
	return ws
}

// A POST beyond MaxPostsPerSession in progress at once is answered 429 / 1013 without
// being processed; the session goes on, and the POST in progress completes.
func TestMaxPostsPerSession(t *testing.T) {
	release := make(chan struct{})
	e := newHTEnv(t, func(e *htEnv, s *Session) {
		<-release
		htEcho(e, s)
	}, &Options{MaxPostsPerSession: 1, ReadQueue: 1})
	c := e.newHTClient(true, transports.EncodingText)
	s := e.session()
	// Three messages with a read queue of one and a handler that does not read: the POST
	// waits for room (backpressure) and stays in progress.
	body := c.encodePost(c.msg(polysock.Text, []byte("1")), c.msg(polysock.Text, []byte("2")), c.msg(polysock.Text, []byte("3")))
	status := make(chan int, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), htGuard)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.hs.URL+"/rt?"+c.postQuery(), bytes.NewReader(body))
		req.Header.Set("Content-Type", wire.ContentTypeText)
		resp, err := e.hc.Do(req)
		if err != nil {
			status <- -1
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	htWaitFor(t, "the first POST to wait for room", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.space != nil && s.requests.Load() == 1
	})
	extra := c.encodePost(wire.Frame{Type: wire.TypeText, Seq: 4, Data: []byte("4")})
	expectError(t, c.postRaw(wire.ContentTypeText, extra), http.StatusTooManyRequests, wire.CloseTryAgainLater)
	close(release)
	if st := <-status; st != http.StatusOK {
		t.Fatalf("the POST in progress: %d", st)
	}
	for _, want := range []string{"1", "2", "3"} {
		if f := c.nextData(); string(f.Data) != want {
			t.Fatalf("echo %q, want %q", f.Data, want)
		}
	}
	// The refused message was not taken: message 4 is still to come, and is accepted now.
	c.send(polysock.Text, []byte("4"))
	if f := c.nextData(); string(f.Data) != "4" {
		t.Fatalf("echo %q, want 4", f.Data)
	}
}

// A stream is ended after StreamMaxHold without a CLOSE, like one that reached its byte
// limit; the client continues on a new stream GET and nothing is lost.
func TestStreamMaxHold(t *testing.T) {
	e := newHTEnv(t, nil, &Options{StreamMaxHold: 30 * time.Millisecond})
	c := e.newHTClient(false, transports.EncodingBinary)
	deadline := time.Now().Add(htGuard)
	for i := 0; c.responses < 4; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("still %d stream responses after %d echoes", c.responses, i)
		}
		msg := fmt.Sprint(i)
		c.send(polysock.Text, []byte(msg))
		if f := c.nextData(); string(f.Data) != msg { // nextData fails on CLOSE or a gap
			t.Fatalf("echo %q, want %q", f.Data, msg)
		}
	}
	if c.opens != c.responses {
		t.Fatalf("%d OPENs for %d stream responses", c.opens, c.responses)
	}
}

// A POST whose body does not arrive within HandshakeTimeout is answered 400 / 1002;
// nothing of it is processed and the session goes on.
func TestPostBodyTimeout(t *testing.T) {
	e := newHTEnv(t, nil, &Options{HandshakeTimeout: 50 * time.Millisecond})
	c := e.newHTClient(true, transports.EncodingText)
	conn, err := net.Dial("tcp", e.hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(htGuard)) // hang guard
	part := `t1:"never finished`
	fmt.Fprintf(conn, "POST /rt?%s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 100\r\n\r\n%s",
		c.postQuery(), wire.ContentTypeText, part)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled POST body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get(wire.HeaderClose) != "1002" {
		t.Fatalf("stalled POST body: %d %v, want 400 / 1002", resp.StatusCode, resp.Header)
	}
	c.send(polysock.Text, []byte("after"))
	if f := c.nextData(); string(f.Data) != "after" || f.Seq != 1 {
		t.Fatalf("echo %d %q, want 1 after", f.Seq, f.Data)
	}
}

// The limits of the HTTP transports that the WebSocket tests cover on their side: the
// sessions in total (503 / 1013), a message above MaxMessageSize in a POST within
// MaxBatchSize (413 / 1009, the session closed), and a token that is another session's
// (404 / 4004 on POST and GET: a token is bound to its session).
func TestHTTPLimits(t *testing.T) {
	t.Run("MaxSessions", func(t *testing.T) {
		e := newHTEnv(t, nil, &Options{MaxSessions: 1})
		e.newHTClient(true, transports.EncodingBinary)
		expectError(t, e.roundTrip(http.MethodGet, "ps_v=1&ps_t=stream&ps_e=bin", nil, nil), http.StatusServiceUnavailable, wire.CloseTryAgainLater)
	})
	t.Run("MaxMessageSize", func(t *testing.T) {
		e := newHTEnv(t, nil, &Options{MaxMessageSize: 100, MaxBatchSize: 1000})
		c := e.newHTClient(true, transports.EncodingBinary)
		body := c.encodePost(c.msg(polysock.Binary, make([]byte, 101)))
		expectError(t, c.postRaw(wire.ContentTypeBinary, body), http.StatusRequestEntityTooLarge, wire.CloseMessageTooBig)
		expectSessionEnd(t, e, polysock.CloseMessageTooBig)
	})
	t.Run("token of another session", func(t *testing.T) {
		e := newHTEnv(t, nil, nil)
		a := e.newHTClient(true, transports.EncodingBinary)
		b := e.newHTClient(true, transports.EncodingBinary)
		crossed := query(wire.ParamVersion, "1", wire.ParamSession, a.sid, wire.ParamToken, b.tok)
		expectError(t, e.roundTrip(http.MethodPost, crossed, http.Header{"Content-Type": {wire.ContentTypeBinary}}, nil),
			http.StatusNotFound, wire.CloseUnknownSession)
		expectError(t, e.roundTrip(http.MethodGet, crossed+"&ps_t=poll&ps_ack=0", nil, nil), http.StatusNotFound, wire.CloseUnknownSession)
		a.send(polysock.Text, []byte("still a's"))
		if f := a.nextData(); string(f.Data) != "still a's" {
			t.Fatalf("echo %q", f.Data)
		}
	})
}

// The default client address is the remote IP address, IPv4-mapped addresses as IPv4,
// and an IPv6 address's /64 network.
func TestClientAddress(t *testing.T) {
	c := newConfig(nil)
	for remote, want := range map[string]string{
		"127.0.0.1:5000":                  "127.0.0.1",
		"[::ffff:10.1.2.3]:80":            "10.1.2.3",
		"[2001:db8:1:2:aaaa::1]:443":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb::9%eth0]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:443":           "2001:db8:1:3::/64",
		"pipe":                            "pipe",
	} {
		if got := c.clientAddress(&http.Request{RemoteAddr: remote}); got != want {
			t.Errorf("clientAddress(%q) = %q, want %q", remote, got, want)
		}
	}
}
