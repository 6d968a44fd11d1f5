package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/polysock/polysock/broker"
	"github.com/polysock/polysock/transports"
)

// testRouter is the in-memory broker with a fixed table of cluster nodes: routing
// without Redis.
type testRouter struct {
	*broker.Memory
	id    string
	nodes map[string]*url.URL
}

func (r *testRouter) NodeID() string { return r.id }

func (r *testRouter) NodeURL(_ context.Context, id string) (*url.URL, error) {
	if u, ok := r.nodes[id]; ok {
		return u, nil
	}
	return nil, broker.ErrUnknownNode
}

// Shutdown also ends the requests a node is passing to other nodes: a client held on a
// forwarded poll (or stream, or WebSocket) through a node that shuts down learns at once
// that its carrier is gone (502 without a close code: it resumes through another node),
// and the session, on its own node, goes on. PollHold is far beyond the hang guard, so
// a forwarded poll that outlived the shutdown would fail the test.
func TestShutdownEndsForwardedRequests(t *testing.T) {
	b := newHTEnv(t, nil, &Options{Broker: &testRouter{Memory: broker.NewMemory(), id: "b"}, PollHold: time.Hour})
	bURL, err := url.Parse(b.hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	// Node a is no htEnv: its cleanups run before b's leak check.
	a := New(func(*Session) {}, &Options{Broker: &testRouter{Memory: broker.NewMemory(), id: "a", nodes: map[string]*url.URL{"b": bURL}}})
	ahs := httptest.NewServer(a)
	t.Cleanup(ahs.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := b.newHTClient(true, transports.EncodingText)
	s := b.session()
	held := make(chan int, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Get(ahs.URL + "/rt?" + c.getQuery())
		if err != nil {
			held <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		held <- resp.StatusCode
	}()
	htWaitFor(t, "the forwarded poll held by node b", func() bool { return carrierOf(s) != nil })
	if n := a.Stats().Forwarded; n != 1 {
		t.Fatalf("node a forwarded %d requests, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), htGuard)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case status := <-held:
		if status != http.StatusBadGateway {
			t.Fatalf("forwarded poll answered %d, want 502", status)
		}
	case <-time.After(htGuard):
		t.Fatal("a forwarded poll outlived the shutdown of the node passing it on")
	}
	if err := s.Context().Err(); err != nil {
		t.Fatal("the session ended with the node that passed its request on")
	}
}
