package server_test

// Helpers for the SockJS conformance tests. The tests are written from the SockJS
// protocol's documented behaviour (sockjs-protocol 0.3.3, the version sockjs-client 1.x
// speaks) and talk to a real server on a loopback listener with net/http and
// gorilla/websocket.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/server"
)

// sjGuard bounds every blocking step. It is a hang guard, never an assertion about speed.
const sjGuard = 20 * time.Second

// sjEnd is how a Session ended, as its handler saw it.
type sjEnd struct {
	service   string // "echo" or "close"
	transport string
	err       error // the error Read returned, or Close's result for the close service
}

// sjEnv runs the conventional SockJS test services (as cmd/sockjs-testserver does) on a
// loopback server: /echo (raw WebSocket on), /close (Close(3000, "Go away!")),
// /disabled_websocket_echo and /cookie_needed_echo, all with a 4096-byte response limit.
type sjEnv struct {
	t        *testing.T
	url      string // http://127.0.0.1:port
	echoSrv  *server.Server
	closeSrv *server.Server
	ends     chan sjEnd // how each /echo and /close session ended
	sessions chan *server.Session
}

// newSJEnv starts the services. opts may be nil (then the origin check is off, as the
// protocol's tests send made-up origins); so is applied to every service.
func newSJEnv(t *testing.T, opts *server.Options, so server.SockJSOptions) *sjEnv {
	t.Helper()
	if opts == nil {
		opts = &server.Options{InsecureSkipOriginCheck: true}
	}
	e := &sjEnv{t: t, ends: make(chan sjEnd, 100), sessions: make(chan *server.Session, 100)}
	e.echoSrv = server.New(func(s *server.Session) {
		select {
		case e.sessions <- s:
		default:
		}
		ctx := context.Background()
		for {
			typ, data, err := s.Read(ctx)
			if err != nil {
				e.report(sjEnd{"echo", s.Transport(), err})
				return
			}
			if err := s.Write(ctx, typ, data); err != nil {
				e.report(sjEnd{"echo", s.Transport(), err})
				return
			}
		}
	}, opts)
	e.closeSrv = server.New(func(s *server.Session) {
		err := s.Close(3000, "Go away!")
		e.report(sjEnd{"close", s.Transport(), err})
	}, opts)
	mux := sjRouter{}
	mount := func(srv *server.Server, prefix string, o server.SockJSOptions) {
		o.ResponseLimit = 4096
		if o.SockJSURL == "" {
			o.SockJSURL = "/sockjs-client/sockjs.min.js"
		}
		mux[prefix] = srv.SockJSHandler(prefix, &o)
	}
	echo := so
	echo.RawWebSocket = true
	mount(e.echoSrv, "/echo", echo)
	mount(e.closeSrv, "/close", echo)
	nows := so
	nows.DisableWebSocket = true
	mount(e.echoSrv, "/disabled_websocket_echo", nows)
	cookie := so
	cookie.JSessionID = true
	mount(e.echoSrv, "/cookie_needed_echo", cookie)
	hs := httptest.NewServer(mux)
	e.url = hs.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), sjGuard)
		defer cancel()
		hs.CloseClientConnections()
		if err := e.echoSrv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := e.closeSrv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return e
}

func (e *sjEnv) report(end sjEnd) {
	select {
	case e.ends <- end:
	default:
	}
}

// nextEnd waits for the next end of a session of service ("echo" or "close"),
// skipping the other service's.
func (e *sjEnv) nextEnd(service string) sjEnd {
	e.t.Helper()
	timeout := time.After(sjGuard)
	for {
		select {
		case end := <-e.ends:
			if end.service == service {
				return end
			}
		case <-timeout:
			e.t.Fatalf("no %s session ended", service)
			return sjEnd{}
		}
	}
}

// nextSession waits for the next /echo session to reach the handler.
func (e *sjEnv) nextSession() *server.Session {
	e.t.Helper()
	select {
	case s := <-e.sessions:
		return s
	case <-time.After(sjGuard):
		e.t.Fatal("no session reached the handler")
		return nil
	}
}

// sjRouter routes by path prefix without cleaning paths, as cmd/sockjs-testserver does:
// "/echo//xhr" must reach the handler (and get 404 there) rather than be redirected.
type sjRouter map[string]http.Handler

func (m sjRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for p, h := range m {
		if r.URL.Path == p || strings.HasPrefix(r.URL.Path, p+"/") {
			h.ServeHTTP(w, r)
			return
		}
	}
	http.NotFound(w, r)
}

// sjID returns a new random SockJS session id.
func sjID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var sjClient = &http.Client{
	Timeout:       sjGuard,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// do sends a request and returns the response with its whole body.
func (e *sjEnv) do(method, path, body string, hdr ...string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := sjClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return resp, string(b)
}

// pollMessages polls base+"/xhr" until n messages arrived and returns them. The echo
// goes through the application's goroutine, so one poll may carry only part of them.
func (e *sjEnv) pollMessages(base string, n int) []string {
	e.t.Helper()
	var all []string
	for len(all) < n {
		_, body := e.do("POST", base+"/xhr", "")
		var msgs []string
		if !strings.HasPrefix(body, "a[") || json.Unmarshal([]byte(strings.TrimSuffix(body[1:], "\n")), &msgs) != nil {
			e.t.Fatalf("poll after %v: %q", all, body)
		}
		all = append(all, msgs...)
	}
	return all
}

// jsonpMessages is pollMessages for jsonp with callback "x".
func (e *sjEnv) jsonpMessages(base string, n int) []string {
	e.t.Helper()
	var all []string
	for len(all) < n {
		_, body := e.do("GET", base+"/jsonp?c=x", "")
		var frame string
		var msgs []string
		if !strings.HasPrefix(body, "x(") || json.Unmarshal([]byte(strings.TrimSuffix(body[2:], ");\r\n")), &frame) != nil ||
			!strings.HasPrefix(frame, "a") || json.Unmarshal([]byte(frame[1:]), &msgs) != nil {
			e.t.Fatalf("jsonp poll after %v: %q", all, body)
		}
		all = append(all, msgs...)
	}
	return all
}

// sjStream is a streaming response read piece by piece.
type sjStream struct {
	t      *testing.T
	resp   *http.Response
	br     *bufio.Reader
	cancel context.CancelFunc
}

// stream starts a request whose response is read as it arrives.
func (e *sjEnv) stream(method, path string, hdr ...string) *sjStream {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sjGuard)
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, nil)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		cancel()
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	s := &sjStream{t: e.t, resp: resp, br: bufio.NewReader(resp.Body), cancel: cancel}
	e.t.Cleanup(s.close)
	return s
}

// expect reads len(want) bytes and compares them with want.
func (s *sjStream) expect(want string) {
	s.t.Helper()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(s.br, got); err != nil {
		s.t.Fatalf("reading %q: got %q, %v", want, got, err)
	}
	if string(got) != want {
		s.t.Fatalf("stream: got %q, want %q", got, want)
	}
}

// expectEnd checks that the response ends here.
func (s *sjStream) expectEnd() {
	s.t.Helper()
	rest, err := io.ReadAll(s.br)
	if err != nil || len(rest) > 0 {
		s.t.Fatalf("want the end of the response, got %q, %v", rest, err)
	}
}

func (s *sjStream) close() {
	s.cancel()
	_ = s.resp.Body.Close()
}

// ws dials a WebSocket below the base URL.
func (e *sjEnv) ws(path string, hdr ...string) *websocket.Conn {
	e.t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	d := websocket.Dialer{HandshakeTimeout: sjGuard}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(e.url, "http")+path, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		e.t.Fatalf("dial %s: %v (status %d)", path, err, status)
	}
	_ = c.SetReadDeadline(time.Now().Add(sjGuard))
	e.t.Cleanup(func() { c.Close() })
	return c
}

// wsExpect reads one text message and compares it with want.
func wsExpect(t *testing.T, c *websocket.Conn, want string) {
	t.Helper()
	typ, msg, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("want %q, got %v", want, err)
	}
	if typ != websocket.TextMessage || string(msg) != want {
		t.Fatalf("got %d %q, want text %q", typ, msg, want)
	}
}

// wsExpectClosed checks that the connection ends without another message.
func wsExpectClosed(t *testing.T, c *websocket.Conn) {
	t.Helper()
	typ, msg, err := c.ReadMessage()
	if err == nil {
		t.Fatalf("want the connection closed, got %d %q", typ, msg)
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("want the connection closed, got a timeout: %v", err)
	}
}

// closeCode returns the close code of err, or -1.
func closeCode(err error) int { return polysock.CloseStatus(err) }

// noSpace removes spaces, as the protocol's content type comparisons do.
func noSpace(s string) string { return strings.ReplaceAll(s, " ", "") }

const sjNotCached = "no-store, no-cache, must-revalidate, max-age=0"
