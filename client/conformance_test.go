package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/server"
)

// The transport conformance suite: one table of scenarios, each written once and run
// against every transport with the real server on loopback and the real client.

var conformanceTransports = []string{wire.TransportWebSocket, wire.TransportStream, wire.TransportPoll}

// rig is one scenario's run on one transport: a real server and a client whose every
// connection goes through a dialer the test can cut.
type rig struct {
	t         *testing.T
	transport string
	url       string
	gets      atomic.Int64 // carrier GETs (upgrades, streams, polls) the server received
	hc        *http.Client

	mu    sync.Mutex
	conns []net.Conn
	cut   bool // no more connections: the client has vanished
}

// newRig starts the server with handler and opts on 127.0.0.1. Cleanup shuts it down,
// closes the client's idle connections and waits for the server's handlers.
func newRig(t *testing.T, transport string, handler func(*server.Session), opts *server.Options) *rig {
	r := &rig{t: t, transport: transport}
	srv := server.New(handler, opts)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet {
			r.gets.Add(1)
		}
		srv.ServeHTTP(w, req)
	}))
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.cut {
				return nil, errors.New("test: the client has vanished")
			}
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				r.conns = append(r.conns, c)
			}
			return c, err
		},
	}
	r.hc = &http.Client{Transport: tr}
	t.Cleanup(func() {
		if err := srv.Shutdown(testCtx(t)); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
		tr.CloseIdleConnections()
	})
	r.url = "ws" + strings.TrimPrefix(hs.URL, "http") + "/rt"
	return r
}

// dial opens a session on the rig's transport; opts may be nil.
func (r *rig) dial(opts *Options) *Conn {
	r.t.Helper()
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.Transports = []string{r.transport}
	o.HTTPClient = r.hc
	c := dial(r.t, r.url, &o)
	if c.Transport() != r.transport {
		r.t.Fatalf("Transport() = %q, want %q", c.Transport(), r.transport)
	}
	return c
}

// vanish cuts every connection of the client and refuses new ones, as when the client's
// machine drops off the network.
func (r *rig) vanish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = true
	for _, c := range r.conns {
		c.Close()
	}
}

type conformanceScenario struct {
	name string
	run  func(t *testing.T, transport string)
}

var conformanceScenarios = []conformanceScenario{
	{"echo", confEcho},
	{"1MiB-binary", confLarge},
	{"10k-ordered-both-ways", confOrdered},
	{"16-concurrent-writers", confConcurrentWriters},
	{"close-from-client", confCloseFromClient},
	{"close-from-server", confCloseFromServer},
	{"subprotocol-chosen", confSubprotocolChosen},
	{"subprotocol-none", confSubprotocolNone},
	{"idle-reaping", confIdleReaping},
	{"recycling-mid-burst", confRecycling},
}

func TestConformance(t *testing.T) {
	for _, tr := range conformanceTransports {
		for _, sc := range conformanceScenarios {
			t.Run(tr+"/"+sc.name, func(t *testing.T) { sc.run(t, tr) })
		}
	}
}

// roundTrip writes msgs and checks that they come back in order with their types.
func roundTrip(t *testing.T, c *Conn, msgs []message) {
	t.Helper()
	ctx := testCtx(t)
	for _, m := range msgs {
		if err := c.Write(ctx, m.typ, m.data); err != nil {
			t.Fatalf("Write %v of %d bytes: %v", m.typ, len(m.data), err)
		}
	}
	for i, m := range msgs {
		typ, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		if typ != m.typ || !bytes.Equal(data, m.data) {
			t.Fatalf("message %d: got %v of %d bytes, want %v of %d bytes", i, typ, len(data), m.typ, len(m.data))
		}
	}
}

func confEcho(t *testing.T, transport string) {
	c := newRig(t, transport, echo, nil).dial(nil)
	roundTrip(t, c, []message{
		{polysock.Text, []byte("hello")},
		{polysock.Binary, []byte{0, 1, 2, 0x0a, 0x0d, 255}},
		{polysock.Text, []byte{}},
		{polysock.Binary, []byte{}},
		{polysock.Text, []byte("héllo wörld, 日本語, 😀, \u2028\u0000\"\\\n")},
	})
}

func confLarge(t *testing.T, transport string) {
	c := newRig(t, transport, echo, nil).dial(nil)
	big := make([]byte, 1<<20)
	rand.Read(big)
	roundTrip(t, c, []message{{polysock.Binary, big}, {polysock.Text, []byte("after")}})
}

func confOrdered(t *testing.T, transport string) {
	const n = 10_000
	serverSaw := make(chan error, 1)
	r := newRig(t, transport, func(s *server.Session) {
		ctx := context.Background()
		go func() {
			for i := range n {
				if s.Write(ctx, polysock.Text, []byte(fmt.Sprintf("s%d", i))) != nil {
					return
				}
			}
		}()
		for i := range n {
			_, data, err := s.Read(ctx)
			if err != nil {
				serverSaw <- fmt.Errorf("server Read %d: %w", i, err)
				return
			}
			if want := fmt.Sprintf("c%d", i); string(data) != want {
				serverSaw <- fmt.Errorf("server got %q, want %q", data, want)
				return
			}
		}
		serverSaw <- nil
		s.Read(ctx) // until the client closes
	}, nil)
	c := r.dial(nil)
	ctx := testCtx(t)
	writeErr := make(chan error, 1)
	go func() {
		for i := range n {
			if err := c.Write(ctx, polysock.Text, []byte(fmt.Sprintf("c%d", i))); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}()
	for i := range n {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("client Read %d: %v", i, err)
		}
		if want := fmt.Sprintf("s%d", i); string(data) != want {
			t.Fatalf("client got %q, want %q", data, want)
		}
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if err := <-serverSaw; err != nil {
		t.Fatal(err)
	}
}

func confConcurrentWriters(t *testing.T, transport string) {
	const writers, each = 16, 200
	c := newRig(t, transport, echo, nil).dial(nil)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := c.Write(ctx, polysock.Text, []byte(fmt.Sprintf("%d:%d", w, i))); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	next := make([]int, writers)
	for range writers * each {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		var w, i int
		if _, err := fmt.Sscanf(string(data), "%d:%d", &w, &i); err != nil || w < 0 || w >= writers {
			t.Fatalf("unexpected message %q", data)
		}
		if i != next[w] {
			t.Fatalf("writer %d: got message %d, want %d", w, i, next[w])
		}
		next[w]++
	}
	wg.Wait()
}

func confCloseFromClient(t *testing.T, transport string) {
	seen := make(chan error, 1)
	c := newRig(t, transport, func(s *server.Session) {
		_, _, err := s.Read(context.Background())
		seen <- err
	}, nil).dial(nil)
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
}

func confCloseFromServer(t *testing.T, transport string) {
	closed := make(chan error, 1)
	c := newRig(t, transport, func(s *server.Session) {
		ctx := context.Background()
		if _, data, err := s.Read(ctx); err != nil || string(data) != "close please" {
			closed <- fmt.Errorf("server Read = %q, %v", data, err)
			return
		}
		s.Write(ctx, polysock.Text, []byte("last words"))
		closed <- s.Close(4322, "server says bye")
	}, nil).dial(nil)
	if err := c.Write(testCtx(t), polysock.Text, []byte("close please")); err != nil {
		t.Fatal(err)
	}
	if _, s := readMsg(t, c); s != "last words" {
		t.Fatalf("got %q before the close", s)
	}
	if ce := readEnd(t, c); *ce != (polysock.CloseError{Code: 4322, Reason: "server says bye", WasClean: true}) {
		t.Errorf("client saw %+v, want a clean 4322 with the reason", ce)
	}
	if err := <-closed; err != nil {
		t.Errorf("server Close = %v, want nil after the client's answer", err)
	}
}

// subprotocolCase dials offering offered to a server supporting supported and checks that
// both sides report want.
func subprotocolCase(t *testing.T, transport string, supported, offered []string, want string) {
	got := make(chan string, 1)
	c := newRig(t, transport, func(s *server.Session) {
		got <- s.Protocol()
		s.Read(context.Background())
	}, &server.Options{Subprotocols: supported}).dial(&Options{Protocols: offered})
	if c.Protocol() != want {
		t.Errorf("client Protocol() = %q, want %q", c.Protocol(), want)
	}
	if p := <-got; p != want {
		t.Errorf("server Protocol() = %q, want %q", p, want)
	}
}

func confSubprotocolChosen(t *testing.T, transport string) {
	subprotocolCase(t, transport, []string{"v2.chat", "v1.chat"}, []string{"v1.chat", "v2.chat"}, "v2.chat")
}

func confSubprotocolNone(t *testing.T, transport string) {
	subprotocolCase(t, transport, []string{"v2.chat"}, []string{"other"}, "")
}

// confIdleReaping: a client that vanishes (its connections cut, no new ones) leaves a
// session that the server ends with 4006 once the resume window has passed.
func confIdleReaping(t *testing.T, transport string) {
	ended := make(chan error, 1)
	r := newRig(t, transport, func(s *server.Session) {
		ctx := context.Background()
		s.Write(ctx, polysock.Text, []byte("ready"))
		for {
			if _, _, err := s.Read(ctx); err != nil {
				ended <- err
				return
			}
		}
	}, &server.Options{PingInterval: 100 * time.Millisecond, IdleTimeout: 500 * time.Millisecond, ResumeWindow: 200 * time.Millisecond})
	// Resume attempts fail at once (connections refused) and soon: the client gives up.
	c := r.dial(&Options{ReconnectAttempts: 3, ReconnectMin: time.Millisecond, ReconnectMax: 10 * time.Millisecond})
	if _, s := readMsg(t, c); s != "ready" {
		t.Fatalf("got %q", s)
	}
	r.vanish()
	var ce *polysock.CloseError
	select {
	case err := <-ended:
		if !errors.As(err, &ce) || ce.Code != polysock.CloseResumeExpired {
			t.Errorf("server session ended with %v, want close code 4006", err)
		}
	case <-testCtx(t).Done():
		t.Fatal("hang guard: the server never reaped the session")
	}
	if ce := readEnd(t, c); ce.Code != polysock.CloseAbnormal || ce.WasClean || !strings.Contains(ce.Reason, "failed to resume after 3 attempts") {
		t.Errorf("client session ended with %+v, want an unclean 1006 after 3 resume attempts", ce)
	}
}

// confRecycling: a burst from the server crosses many stream responses (a small
// StreamMaxBytes) or many poll answers, and arrives whole and in order. The burst comes
// in waves, each sent once the client has read the previous one, so that a poll session
// takes at least one answer per wave whatever the scheduling.
func confRecycling(t *testing.T, transport string) {
	const waves, perWave, size = 6, 100, 1000
	r := newRig(t, transport, func(s *server.Session) {
		ctx := context.Background()
		payload := bytes.Repeat([]byte{'x'}, size)
		for w := range waves {
			if w > 0 {
				if _, _, err := s.Read(ctx); err != nil { // the client's "more"
					return
				}
			}
			for i := range perWave {
				msg := append([]byte(fmt.Sprintf("%06d", w*perWave+i)), payload...)
				if s.Write(ctx, polysock.Binary, msg) != nil {
					return
				}
			}
		}
		s.Read(ctx)
	}, &server.Options{StreamMaxBytes: 8 << 10})
	c := r.dial(nil)
	ctx := testCtx(t)
	for i := range waves * perWave {
		if i > 0 && i%perWave == 0 {
			if err := c.Write(ctx, polysock.Text, []byte("more")); err != nil {
				t.Fatal(err)
			}
		}
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		if len(data) != 6+size || string(data[:6]) != fmt.Sprintf("%06d", i) {
			t.Fatalf("message %d: got %.6q (%d bytes)", i, data, len(data))
		}
	}
	// 600 KB cannot fit in one 8 KiB stream response; each wave needs a poll answer of
	// its own.
	gets := r.gets.Load()
	if transport == wire.TransportStream && gets < 2 || transport == wire.TransportPoll && gets < waves {
		t.Errorf("the burst came in %d GET responses; recycling was not exercised", gets)
	}
}
