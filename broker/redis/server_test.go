package redis_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	psredis "github.com/polysock/polysock/broker/redis"
	"github.com/polysock/polysock/client"
	"github.com/polysock/polysock/internal/chattest"
	"github.com/polysock/polysock/internal/rrproxy"
	"github.com/polysock/polysock/internal/seqcheck"
	"github.com/polysock/polysock/server"
	"github.com/polysock/polysock/transports"
)

// node is one polysock server of an in-process cluster.
type node struct {
	id  string
	srv *server.Server
	hs  *httptest.Server
}

// startNode starts a chat server on its own loopback port with a Redis broker
// advertising that port.
func (e *env) startNode(id string) *node {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	b, err := psredis.New(ctx, e.client(), &psredis.Options{NodeID: id, AdvertiseURL: "http://" + ln.Addr().String()})
	if err != nil {
		e.t.Fatal(err)
	}
	n := &node{id: id}
	n.srv = server.New(chattest.Handler(func() *server.Server { return n.srv }), &server.Options{Broker: b})
	n.hs = httptest.NewUnstartedServer(n.srv)
	n.hs.Listener.Close()
	n.hs.Listener = ln
	n.hs.Start()
	e.t.Cleanup(func() {
		_ = b.Close()
	})
	e.t.Cleanup(n.hs.Close)
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.srv.Shutdown(ctx)
	})
	return n
}

// cluster starts three nodes behind a round-robin proxy and returns the proxy's URL.
func (e *env) cluster() (string, []*node) {
	e.t.Helper()
	nodes := []*node{e.startNode("n1"), e.startNode("n2"), e.startNode("n3")}
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.hs.URL)
	}
	p, err := rrproxy.New(urls...)
	if err != nil {
		e.t.Fatal(err)
	}
	front := httptest.NewServer(p)
	e.t.Cleanup(p.CloseIdleConnections)
	e.t.Cleanup(front.Close)
	return front.URL, nodes
}

func dial(t *testing.T, url, transport string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	c, err := client.Dial(ctx, url, &client.Options{Transports: []string{transport}})
	if err != nil {
		t.Fatalf("dial %s: %v", transport, err)
	}
	t.Cleanup(func() { _ = c.Close(1000, "") })
	if _, data, err := c.Read(ctx); err != nil || string(data) != chattest.Ready {
		t.Fatalf("first message %q, %v", data, err)
	}
	return c
}

// Three nodes behind a round-robin proxy, no stickiness: clients on every transport
// chat across nodes, every message exactly once and in one order for all, before and
// after moving their sessions to other transports.
func TestClusterChatInProcess(t *testing.T) {
	e := newEnv(t)
	front, nodes := e.cluster()
	var conns []*client.Conn
	owners := map[string]bool{}
	for _, tr := range []string{"websocket", "stream", "poll", "websocket", "stream", "poll"} {
		c := dial(t, front, tr)
		node, _, ok := strings.Cut(c.SessionID(), "_")
		if !ok {
			t.Fatalf("session id %q does not name its node", c.SessionID())
		}
		owners[node] = true
		conns = append(conns, c)
	}
	if len(owners) < 2 {
		t.Logf("all sessions opened on one node (%v): routing is exercised by the other requests", owners)
	}
	chat(t, conns, "a")
	// Every session moves to the next transport: each resume lands on whichever node
	// the proxy picks and is passed to the owner (a WebSocket upgrade included), and the
	// chat goes on with nothing lost.
	next := map[string]string{"websocket": "stream", "stream": "poll", "poll": "websocket"}
	for i, c := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		to := next[c.Transport()]
		if err := c.SwitchTransport(ctx, to); err != nil {
			t.Fatalf("client %d: switch to %s: %v", i, to, err)
		}
		cancel()
		if c.Transport() != to {
			t.Fatalf("client %d runs on %s after switching to %s", i, c.Transport(), to)
		}
	}
	chat(t, conns, "b")
	var forwarded uint64
	for _, n := range nodes {
		forwarded += n.srv.Stats().Forwarded
	}
	if forwarded == 0 {
		t.Error("no request was forwarded to its session's node")
	}
	t.Logf("%d requests forwarded", forwarded)
}

// chat has each of conns send 100 messages named after tag, and checks that every conn
// receives all of them, each sender's in order, all in one same order.
func chat(t *testing.T, conns []*client.Conn, tag string) {
	t.Helper()
	const each = 100
	for i, c := range conns {
		go func() {
			for k := range each {
				if c.Write(context.Background(), polysock.Text, []byte(seqcheck.Name(tag, i, k))) != nil {
					return
				}
			}
		}()
	}
	var first []string
	for i, c := range conns {
		var got []string
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		for range each * len(conns) {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("client %d (%s): %v", i, c.Transport(), err)
			}
			got = append(got, string(data))
		}
		cancel()
		if _, err := seqcheck.Check(got, tag, len(conns)); err != nil {
			t.Fatalf("client %d (%s): %v", i, c.Transport(), err)
		}
		if i == 0 {
			first = got
		} else if err := seqcheck.Same(got, first); err != nil {
			t.Fatalf("client %d saw another order than client 0: %v", i, err)
		}
	}
}

// Requests for a session whose node is unknown, or registered but unreachable, get the
// unknown-session answer (4004) on HTTP and WebSocket; a request another node forwarded
// is never forwarded again.
func TestClusterRefusals(t *testing.T) {
	e := newEnv(t)
	n1 := e.startNode("n1")
	// A node that registered and died: its port is closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	ctx := context.Background()
	deadB, err := psredis.New(ctx, e.client(), &psredis.Options{NodeID: "dead", AdvertiseURL: dead})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = deadB.Close() })
	// A node that lives: n2 (the forwarded-header case must not reach it).
	n2 := e.startNode("n2")
	ws := "ws" + strings.TrimPrefix(n1.hs.URL, "http")
	for _, tc := range []struct {
		name, sid string
		hdr       http.Header
		forwarded uint64 // requests n1 passes on: GET, POST and WebSocket to a registered node
	}{
		{"unknown node", "ghost_AAAAAAAAAAAAAAAAAAAAAA", nil, 0},
		{"dead node", "dead_AAAAAAAAAAAAAAAAAAAAAA", nil, 3},
		{"already forwarded", "n2_AAAAAAAAAAAAAAAAAAAAAA", http.Header{transports.ForwardedHeader: {"n3"}}, 0},
	} {
		before := n1.srv.Stats().Forwarded
		q := "?ps_v=1&ps_sid=" + tc.sid + "&ps_tok=x&ps_ack=0"
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			req, _ := http.NewRequest(method, n1.hs.URL+q+"&ps_t=poll", strings.NewReader(""))
			req.Header = tc.hdr.Clone()
			if req.Header == nil {
				req.Header = http.Header{}
			}
			if method == http.MethodPost {
				req.Header.Set("Content-Type", "text/plain; charset=utf-8")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-PolySock-Close") != "4004" {
				t.Errorf("%s %s: %d close %q, want 404 4004", tc.name, method, resp.StatusCode, resp.Header.Get("X-PolySock-Close"))
			}
		}
		conn, _, err := websocket.DefaultDialer.Dial(ws+q, tc.hdr)
		if err != nil {
			t.Fatalf("%s: upgrade: %v", tc.name, err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(guard))
		_, _, err = conn.ReadMessage()
		conn.Close()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4004 {
			t.Errorf("%s: WebSocket: %v, want close 4004", tc.name, err)
		}
		if n := n1.srv.Stats().Forwarded - before; n != tc.forwarded {
			t.Errorf("%s: n1 passed on %d requests, want %d", tc.name, n, tc.forwarded)
		}
	}
	if st := n2.srv.Stats(); st.Opened != 0 {
		t.Errorf("n2 opened %d sessions", st.Opened)
	}
}

// When a node's subscriber connection to Redis breaks, messages may have been missed:
// every session subscribed on that node is closed with 1011, never left with a silent gap.
func TestBrokerLossClosesSubscribedSessions(t *testing.T) {
	e := newEnv(t)
	n := e.startNode("n1")
	c := dial(t, n.hs.URL, "websocket")
	if err := e.client().ClientKillByFilter(context.Background(), "TYPE", "pubsub").Err(); err != nil {
		t.Fatalf("CLIENT KILL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	_, _, err := c.Read(ctx)
	var ce *polysock.CloseError
	if !errors.As(err, &ce) || ce.Code != polysock.CloseInternalError {
		t.Fatalf("read: %v, want close 1011", err)
	}
}
