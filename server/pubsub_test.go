package server_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/broker"
	"github.com/polysock/polysock/client"
	"github.com/polysock/polysock/internal/chattest"
	"github.com/polysock/polysock/internal/seqcheck"
	"github.com/polysock/polysock/server"
)

// countingBroker is the in-memory broker with a count of live broker subscriptions, to
// see that the server subscribes once per topic and unsubscribes when the last session
// leaves.
type countingBroker struct {
	*broker.Memory
	live atomic.Int64
}

func (b *countingBroker) Subscribe(ctx context.Context, topic string, h broker.Handler) (broker.Subscription, error) {
	sub, err := b.Memory.Subscribe(ctx, topic, h)
	if err != nil {
		return nil, err
	}
	b.live.Add(1)
	return &countedSub{sub: sub, b: b}, nil
}

type countedSub struct {
	sub  broker.Subscription
	b    *countingBroker
	once sync.Once
}

func (s *countedSub) Unsubscribe() {
	s.once.Do(func() { s.b.live.Add(-1); s.sub.Unsubscribe() })
}

// dialWebSocket opens a session on url over WebSocket; the test's cleanup closes it.
func dialWebSocket(t *testing.T, ctx context.Context, url string) *client.Conn {
	t.Helper()
	c, err := client.Dial(ctx, url, &client.Options{Transports: []string{"websocket"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(1000, "") })
	return c
}

func dialRoom(t *testing.T, base, transport, room string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, base+"?room="+room, &client.Options{Transports: []string{transport}})
	if err != nil {
		t.Fatalf("dial %s: %v", transport, err)
	}
	t.Cleanup(func() { _ = c.Close(1000, "") })
	expectMsg(t, c, chattest.Ready)
	return c
}

func expectMsg(t *testing.T, c *client.Conn, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil || string(data) != want {
		t.Fatalf("read %q, %v; want %q", data, err, want)
	}
}

// Sessions on every transport subscribed to one topic get every message published to it,
// each publisher's in order and all in one same order; a session on another topic gets
// none; subscriptions end with the sessions.
func TestPublishSubscribeAcrossTransports(t *testing.T) {
	wsLeakCheck(t)
	b := &countingBroker{Memory: broker.NewMemory()}
	var srv *server.Server
	srv = server.New(chattest.Handler(func() *server.Server { return srv }), &server.Options{Broker: b})
	e := startServer(t, srv)
	var conns []*client.Conn
	for _, tr := range []string{"websocket", "stream", "poll"} {
		conns = append(conns, dialRoom(t, e, tr, "lobby"))
	}
	other := dialRoom(t, e, "websocket", "other")
	if n := b.live.Load(); n != 2 {
		t.Errorf("%d broker subscriptions, want 2 (one per topic)", n)
	}
	const each = 200
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				if err := c.Write(context.Background(), polysock.Text, []byte(seqcheck.Name("", i, k))); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		}()
	}
	var first []string
	for i, c := range conns {
		var got []string
		for range each * len(conns) {
			_, data, err := readBounded(c)
			if err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			got = append(got, string(data))
		}
		if _, err := seqcheck.Check(got, "", len(conns)); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if i == 0 {
			first = got
		} else if err := seqcheck.Same(got, first); err != nil {
			t.Fatalf("client %d saw another order than client 0: %v", i, err)
		}
	}
	wg.Wait()
	// other got nothing of lobby's: its next message is its own publication.
	if err := other.Write(context.Background(), polysock.Text, []byte("mine")); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, other, "mine")

	// Unsubscribe: the first client stops getting lobby's messages.
	if err := conns[0].Write(context.Background(), polysock.Text, []byte(chattest.Unsubscribe)); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, conns[0], chattest.Unsubscribed)
	if err := conns[1].Write(context.Background(), polysock.Text, []byte("after")); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, conns[1], "after")
	expectMsg(t, conns[2], "after")
	if err := conns[0].Write(context.Background(), polysock.Text, []byte("own")); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, conns[2], "own") // still published to lobby by its session
	waitFor(t, "lobby still subscribed", func() bool { return b.live.Load() == 2 })

	for _, c := range append(conns, other) {
		_ = c.Close(1000, "")
	}
	waitFor(t, "broker subscriptions ended with the sessions", func() bool { return b.live.Load() == 0 })
}

func readBounded(c *client.Conn) (polysock.MessageType, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return c.Read(ctx)
}

// A subscriber whose outbox cannot take a published message is closed with 4008; the
// publisher is not blocked and gets no error.
func TestPublishOverflowClosesSubscriber(t *testing.T) {
	wsLeakCheck(t)
	var srv *server.Server
	srv = server.New(chattest.Handler(func() *server.Server { return srv }), &server.Options{OutboxBytes: 1024})
	e := startServer(t, srv)
	c := dialRoom(t, e, "websocket", "big")
	if err := srv.Publish(context.Background(), "big", polysock.Binary, make([]byte, 2048)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	_, _, err := readBounded(c)
	var ce *polysock.CloseError
	if !errors.As(err, &ce) || ce.Code != polysock.ClosePeerTooSlow {
		t.Fatalf("read: %v, want close 4008", err)
	}
}

func TestPublishArguments(t *testing.T) {
	srv := server.New(func(*server.Session) {}, nil)
	ctx := context.Background()
	for name, err := range map[string]error{
		"empty topic":   srv.Publish(ctx, "", polysock.Text, nil),
		"long topic":    srv.Publish(ctx, strings.Repeat("t", server.MaxTopicBytes+1), polysock.Text, nil),
		"invalid UTF-8": srv.Publish(ctx, "t", polysock.Text, []byte{0xff}),
		"bad type":      srv.Publish(ctx, "t", polysock.MessageType(9), nil),
	} {
		if err == nil {
			t.Errorf("%s: Publish succeeded", name)
		}
	}
	if err := srv.Publish(ctx, "nobody", polysock.Binary, []byte{1}); err != nil {
		t.Errorf("Publish to a topic without subscribers: %v", err)
	}
}

// A session that has ended cannot subscribe: Subscribe returns its close error.
func TestSubscribeAfterEnd(t *testing.T) {
	wsLeakCheck(t)
	ended := make(chan error, 1)
	srv := server.New(func(s *server.Session) {
		_ = s.Close(4321, "bye")
		<-s.Context().Done()
		ended <- s.Subscribe(context.Background(), "t")
	}, nil)
	e := startServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dialWebSocket(t, ctx, e)
	select {
	case err := <-ended:
		var ce *polysock.CloseError
		if !errors.As(err, &ce) || ce.Code != 4321 {
			t.Fatalf("Subscribe after the end: %v, want the session's close error", err)
		}
	case <-ctx.Done():
		t.Fatal("handler did not finish")
	}
}

// startServer serves srv on a loopback port for the test and returns its URL; the
// cleanup shuts it down.
func startServer(t *testing.T, srv *server.Server) string {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return hs.URL
}

// Subscribing twice is the same as once: one copy of each message; Unsubscribe once ends
// it.
func TestSubscribeTwiceIsOnce(t *testing.T) {
	wsLeakCheck(t)
	subscribed := make(chan struct{})
	var srv *server.Server
	srv = server.New(func(s *server.Session) {
		ctx := s.Context()
		for range 2 {
			if err := s.Subscribe(ctx, "t"); err != nil {
				return
			}
		}
		close(subscribed)
		_, _, _ = s.Read(ctx) // any message: unsubscribe once
		s.Unsubscribe("t")
		// The in-memory broker delivers within Publish: had the session still been
		// subscribed, "three" would be in its outbox before "fence".
		_ = srv.Publish(ctx, "t", polysock.Text, []byte("three"))
		_ = s.Write(ctx, polysock.Text, []byte("fence"))
		<-ctx.Done()
	}, nil)
	e := startServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := dialWebSocket(t, ctx, e)
	<-subscribed
	for _, m := range []string{"one", "two"} {
		if err := srv.Publish(ctx, "t", polysock.Text, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	expectMsg(t, c, "one")
	expectMsg(t, c, "two")
	if err := c.Write(ctx, polysock.Text, []byte("unsubscribe")); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, c, "fence")
}
