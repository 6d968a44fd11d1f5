package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/server"
)

// Tests against the real server on loopback.

// startServer serves handler on 127.0.0.1 and returns the ws:// endpoint URL. Cleanup
// shuts the server down and waits for its handlers.
func startServer(t testing.TB, handler func(*server.Session), opts *server.Options) string {
	t.Helper()
	srv := server.New(handler, opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		if err := srv.Shutdown(testCtx(t)); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/rt"
}

func echo(s *server.Session) {
	ctx := context.Background()
	for {
		typ, data, err := s.Read(ctx)
		if err != nil {
			return
		}
		if err := s.Write(ctx, typ, data); err != nil {
			return
		}
	}
}

func TestEcho(t *testing.T) {
	url := startServer(t, echo, nil)
	c := dial(t, url, nil)
	big := make([]byte, 1<<20)
	rand.Read(big)
	bigText := bytes.Repeat([]byte("ü€😀"), (1<<20)/9)
	msgs := []struct {
		typ  polysock.MessageType
		data []byte
	}{
		{polysock.Text, []byte("hello")},
		{polysock.Binary, []byte{0, 1, 2, 255}},
		{polysock.Text, []byte{}},
		{polysock.Binary, []byte{}},
		{polysock.Text, []byte("héllo wörld, 日本語, 😀, \u2028\u0000\"\\")},
		{polysock.Binary, big},
		{polysock.Text, bigText},
	}
	ctx := testCtx(t)
	for _, m := range msgs {
		if err := c.Write(ctx, m.typ, m.data); err != nil {
			t.Fatalf("Write %v of %d bytes: %v", m.typ, len(m.data), err)
		}
	}
	for _, m := range msgs {
		typ, data, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if typ != m.typ || !bytes.Equal(data, m.data) {
			t.Fatalf("echo = %v of %d bytes, want %v of %d bytes", typ, len(data), m.typ, len(m.data))
		}
	}
	if err := c.Write(ctx, polysock.Binary, make([]byte, 1<<20+1)); !errors.Is(err, ErrMessageTooBig) {
		t.Errorf("Write above the server's maxMessage = %v, want ErrMessageTooBig", err)
	}
	if err := c.Close(1000, "bye"); err != nil {
		t.Errorf("Close = %v", err)
	}
}

// TestOrderBothWays sends 10,000 messages each way at the same time; both sides check
// the order.
func TestOrderBothWays(t *testing.T) {
	const n = 10_000
	serverErr := make(chan error, 1)
	url := startServer(t, func(s *server.Session) {
		ctx := context.Background()
		werr := make(chan error, 1)
		go func() {
			for i := range n {
				if err := s.Write(ctx, polysock.Text, []byte(strconv.Itoa(i))); err != nil {
					werr <- err
					return
				}
			}
			werr <- nil
		}()
		for i := range n {
			_, data, err := s.Read(ctx)
			if err != nil {
				serverErr <- err
				return
			}
			if string(data) != strconv.Itoa(i) {
				serverErr <- fmt.Errorf("server got %q, want %d", data, i)
				return
			}
		}
		serverErr <- <-werr
		s.Read(ctx) // until the client closes
	}, nil)
	c := dial(t, url, nil)
	ctx := testCtx(t)
	werr := make(chan error, 1)
	go func() {
		for i := range n {
			if err := c.Write(ctx, polysock.Binary, []byte(strconv.Itoa(i))); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	for i := range n {
		typ, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		if typ != polysock.Text || string(data) != strconv.Itoa(i) {
			t.Fatalf("message %d = %v %q", i, typ, data)
		}
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if err := <-serverErr; err != nil {
		t.Fatal(err)
	}
	if err := c.Close(1000, ""); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	const writers, each = 16, 500
	result := make(chan error, 1)
	url := startServer(t, func(s *server.Session) {
		ctx := context.Background()
		next := make([]int, writers)
		for range writers * each {
			_, data, err := s.Read(ctx)
			if err != nil {
				result <- err
				return
			}
			var w, i int
			if _, err := fmt.Sscanf(string(data), "%d:%d", &w, &i); err != nil || w < 0 || w >= writers {
				result <- fmt.Errorf("bad message %q", data)
				return
			}
			if i != next[w] {
				result <- fmt.Errorf("writer %d: message %d after %d", w, i, next[w]-1)
				return
			}
			next[w]++
		}
		result <- nil
		s.Read(ctx)
	}, nil)
	c := dial(t, url, nil)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := c.Write(ctx, polysock.Text, []byte(fmt.Sprintf("%d:%d", w, i))); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := <-result; err != nil {
		t.Fatal(err)
	}
}

func TestCloseFromClient(t *testing.T) {
	seen := make(chan error, 1)
	url := startServer(t, func(s *server.Session) {
		_, _, err := s.Read(context.Background())
		seen <- err
	}, nil)
	c := dial(t, url, nil)
	if err := c.Close(4321, "client says bye ✓"); err != nil {
		t.Fatalf("Close = %v", err)
	}
	var ce *polysock.CloseError
	if err := <-seen; !errors.As(err, &ce) || *ce != (polysock.CloseError{Code: 4321, Reason: "client says bye ✓", WasClean: true}) {
		t.Errorf("server saw %v, want a clean 4321 with the reason", err)
	}
	if ce := readEnd(t, c); ce.Code != 4321 || !ce.WasClean {
		t.Errorf("client Read after Close = %+v", ce)
	}
	<-c.Context().Done()
}

func TestCloseFromServer(t *testing.T) {
	closed := make(chan error, 1)
	url := startServer(t, func(s *server.Session) {
		ctx := context.Background()
		s.Write(ctx, polysock.Text, []byte("last words"))
		closed <- s.Close(4322, "server says bye")
	}, nil)
	c := dial(t, url, nil)
	if _, s := readMsg(t, c); s != "last words" {
		t.Fatalf("got %q before the close", s)
	}
	if ce := readEnd(t, c); *ce != (polysock.CloseError{Code: 4322, Reason: "server says bye", WasClean: true}) {
		t.Errorf("client saw %+v, want a clean 4322 with the reason", ce)
	}
	if err := <-closed; err != nil {
		t.Errorf("server Close = %v, want nil after the client's answer", err)
	}
	if err := c.Close(1000, ""); err != nil {
		t.Errorf("client Close after a clean end = %v", err)
	}
}

func TestHandlerReturnCloses1000(t *testing.T) {
	url := startServer(t, func(s *server.Session) {}, nil)
	c := dial(t, url, nil)
	if ce := readEnd(t, c); ce.Code != 1000 || !ce.WasClean {
		t.Errorf("end = %+v, want clean 1000", ce)
	}
}

func TestSubprotocols(t *testing.T) {
	type seen struct{ id, transport, protocol string }
	got := make(chan seen, 1)
	url := startServer(t, func(s *server.Session) {
		got <- seen{s.ID(), s.Transport(), s.Protocol()}
		s.Read(context.Background())
	}, &server.Options{Subprotocols: []string{"chat.v2", "chat.v1"}})
	for _, c := range []struct {
		offer []string
		want  string
	}{
		{[]string{"chat.v1", "chat.v2"}, "chat.v2"},
		{[]string{"x", "chat.v1"}, "chat.v1"},
		{[]string{"x", "y"}, ""},
		{nil, ""},
	} {
		conn, err := Dial(testCtx(t), url, &Options{Protocols: c.offer})
		if err != nil {
			t.Fatal(err)
		}
		s := <-got
		if conn.Protocol() != c.want || s.protocol != c.want {
			t.Errorf("offer %v: client reports %q, server %q; want %q", c.offer, conn.Protocol(), s.protocol, c.want)
		}
		if conn.SessionID() != s.id || conn.Transport() != "websocket" || s.transport != "websocket" {
			t.Errorf("client session %q on %q, server session %q on %q", conn.SessionID(), conn.Transport(), s.id, s.transport)
		}
		if err := conn.Close(1000, ""); err != nil {
			t.Error(err)
		}
	}
}

func TestRequestReachesHandler(t *testing.T) {
	got := make(chan *http.Request, 1)
	url := startServer(t, func(s *server.Session) {
		got <- s.Request()
		s.Read(context.Background())
	}, nil)
	c := dial(t, url+"?room=a%20b", &Options{Header: http.Header{"Authorization": {"Bearer x"}}})
	r := <-got
	if r.URL.Query().Get("room") != "a b" || r.Header.Get("Authorization") != "Bearer x" {
		t.Errorf("handler saw query %v, headers %v", r.URL.Query(), r.Header)
	}
	c.Close(1000, "")
}

func TestRefusalsSurfaceAsCloseErrors(t *testing.T) {
	url := startServer(t, echo, nil)
	e, err := parseEndpoint(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := newConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		p    carrierParams
		code int
	}{
		{"version", carrierParams{version: "99"}, 4001},
		{"unknown session", carrierParams{sid: "nosuchsession", token: "x"}, 4004},
		{"bad sid", carrierParams{sid: "no/such", token: "x"}, 4002},
		{"bad protocol list", carrierParams{protocols: []string{"a", "a"}}, 4002},
	} {
		_, err := dialTransport(testCtx(t), "websocket", e, c.p, cfg)
		if ce := closeOf(err); ce == nil || ce.Code != c.code {
			t.Errorf("%s: Dial error = %v, want a CloseError %d", c.name, err, c.code)
		}
	}

	_, err = Dial(testCtx(t), url, &Options{Header: http.Header{"Origin": {"http://evil.example"}}})
	if ce := closeOf(err); ce == nil || ce.Code != 1008 || !strings.Contains(err.Error(), "403") {
		t.Errorf("Dial from a refused origin = %v, want a CloseError 1008 naming HTTP 403", err)
	}
}

func TestServerLimitsAndClientLimits(t *testing.T) {
	seen := make(chan error, 1)
	url := startServer(t, func(s *server.Session) {
		ctx := context.Background()
		s.Write(ctx, polysock.Binary, make([]byte, 1001))
		_, _, err := s.Read(ctx)
		seen <- err
	}, nil)
	c := dial(t, url, &Options{MaxMessageSize: 1000})
	if ce := readEnd(t, c); ce.Code != 1009 {
		t.Errorf("client end = %+v, want 1009", ce)
	}
	if err := <-seen; polysock.CloseStatus(err) != 1009 {
		t.Errorf("server saw %v, want 1009", err)
	}
}

// TestHeartbeats idles a session for longer than the server's IdleTimeout: only the
// client's PONGs answering the server's PINGs keep the carrier alive.
func TestHeartbeats(t *testing.T) {
	if testing.Short() {
		t.Skip("idles for 3 s")
	}
	url := startServer(t, echo, &server.Options{PingInterval: 50 * time.Millisecond, IdleTimeout: 2 * time.Second})
	c := dial(t, url, nil)
	time.Sleep(3 * time.Second)
	ctx := testCtx(t)
	if err := c.Write(ctx, polysock.Text, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if _, s := readMsg(t, c); s != "still here" {
		t.Fatalf("echo = %q", s)
	}
	if err := c.Close(1000, ""); err != nil {
		t.Errorf("Close = %v", err)
	}
}
