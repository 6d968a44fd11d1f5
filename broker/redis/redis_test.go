package redis_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/broker"
	psredis "github.com/polysock/polysock/broker/redis"
	"github.com/polysock/polysock/internal/leakcheck"
	"github.com/polysock/polysock/internal/redistest"
	"github.com/polysock/polysock/internal/seqcheck"
)

// guard bounds every wait of these tests; it is a hang guard, not a timing assertion.
const guard = 20 * time.Second

// env is one redis-server and the clients and brokers of a test.
type env struct {
	t    testing.TB
	addr string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	leakcheck.Register(t, 5*time.Second)
	return &env{t: t, addr: redistest.Start(t)}
}

func (e *env) client() *goredis.Client {
	rdb := goredis.NewClient(&goredis.Options{Addr: e.addr})
	e.t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func (e *env) broker(id string) *psredis.Broker {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	b, err := psredis.New(ctx, e.client(), &psredis.Options{NodeID: id, AdvertiseURL: "http://127.0.0.1:1/" + id})
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.t.Cleanup(func() {
		if err := b.Close(); err != nil {
			e.t.Errorf("Close: %v", err)
		}
	})
	return b
}

// recorder is a broker.Handler that keeps what it gets and signals each delivery.
type recorder struct {
	mu   sync.Mutex
	msgs []string
	lost []error
	more chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{}, 1)} }

func (r *recorder) Deliver(m broker.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, fmt.Sprintf("%s:%v:%s", m.Topic, m.Type, m.Data))
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
}

func (r *recorder) Lost(err error) {
	r.mu.Lock()
	r.lost = append(r.lost, err)
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
}

// wait waits until cond holds on the recorder's state, or fails the test after guard.
func (r *recorder) wait(t *testing.T, what string, cond func(msgs []string, lost []error) bool) {
	t.Helper()
	deadline := time.After(guard)
	for {
		r.mu.Lock()
		ok := cond(r.msgs, r.lost)
		n := len(r.msgs)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("timed out waiting for %s (%d messages)", what, n)
		}
	}
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

func subscribe(t *testing.T, b broker.Broker, topic string, h broker.Handler) broker.Subscription {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	sub, err := b.Subscribe(ctx, topic, h)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return sub
}

func publish(t *testing.T, b broker.Broker, topic string, typ polysock.MessageType, data string) {
	t.Helper()
	if err := b.Publish(context.Background(), broker.Message{Topic: topic, Type: typ, Data: []byte(data)}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// Two nodes: a message published on either reaches the subscribers of its topic on both,
// with its type, and nothing of other topics.
func TestFanOutBetweenNodes(t *testing.T) {
	e := newEnv(t)
	a, b := e.broker("a"), e.broker("b")
	ra, ra2, rb, other := newRecorder(), newRecorder(), newRecorder(), newRecorder()
	subscribe(t, a, "room", ra)
	subscribe(t, a, "room", ra2)
	subscribe(t, b, "room", rb)
	subscribe(t, b, "other", other)
	publish(t, a, "room", polysock.Text, "from a")
	publish(t, b, "room", polysock.Binary, "from b")
	want := "[room:text:from a room:binary:from b]"
	for name, r := range map[string]*recorder{"a": ra, "a2": ra2, "b": rb} {
		r.wait(t, "both messages on "+name, func(m []string, _ []error) bool { return len(m) >= 2 })
		if got := fmt.Sprint(r.got()); got != want {
			t.Errorf("%s got %s, want %s", name, got, want)
		}
	}
	publish(t, a, "other", polysock.Text, "x")
	other.wait(t, "other's message", func(m []string, _ []error) bool { return len(m) == 1 })
	if got := fmt.Sprint(other.got()); got != "[other:text:x]" {
		t.Errorf("other got %s", got)
	}
}

// Subscribe returns only once Redis has the subscription: a message published right
// after it, from another node, is never missed.
func TestSubscribeIsInPlaceWhenItReturns(t *testing.T) {
	e := newEnv(t)
	a, b := e.broker("a"), e.broker("b")
	for i := range 30 {
		r := newRecorder()
		topic := fmt.Sprintf("t%d", i)
		sub := subscribe(t, a, topic, r)
		publish(t, b, topic, polysock.Text, "first")
		r.wait(t, "the first message of "+topic, func(m []string, _ []error) bool { return len(m) == 1 })
		sub.Unsubscribe()
	}
}

// Concurrent publishers on three nodes: every subscriber on every node sees the same
// order, and each publisher's messages in the order it published them.
func TestOneOrderAcrossNodes(t *testing.T) {
	e := newEnv(t)
	nodes := []*psredis.Broker{e.broker("n1"), e.broker("n2"), e.broker("n3")}
	recs := make([]*recorder, len(nodes))
	for i, n := range nodes {
		recs[i] = newRecorder()
		subscribe(t, n, "chat", recs[i])
	}
	const each = 500
	var wg sync.WaitGroup
	for p, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := n.Publish(context.Background(), broker.Message{Topic: "chat", Type: polysock.Text, Data: []byte(seqcheck.Name("", p, i))}); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := each * len(nodes)
	for _, r := range recs {
		r.wait(t, "every message", func(m []string, _ []error) bool { return len(m) >= total })
	}
	first := recs[0].got()
	if _, err := seqcheck.Check(first, "chat:text:", len(nodes)); err != nil {
		t.Fatal(err)
	}
	for i, r := range recs[1:] {
		if err := seqcheck.Same(r.got(), first); err != nil {
			t.Fatalf("node %d saw another order: %v", i+2, err)
		}
	}
}

// A subscriber connection that breaks is reported to every handler (Lost); the broker
// resubscribes and later messages arrive again; after Unsubscribe nothing does.
func TestLostConnectionIsReported(t *testing.T) {
	e := newEnv(t)
	a, b := e.broker("a"), e.broker("b")
	r := newRecorder()
	sub := subscribe(t, a, "room", r)
	admin := e.client()
	if err := admin.ClientKillByFilter(context.Background(), "TYPE", "pubsub").Err(); err != nil {
		t.Fatalf("CLIENT KILL: %v", err)
	}
	r.wait(t, "Lost", func(_ []string, lost []error) bool { return len(lost) > 0 })
	// Resubscribed: publish until a message gets through (each try is a fresh message).
	deadline := time.Now().Add(guard)
	for i := 0; ; i++ {
		publish(t, b, "room", polysock.Text, fmt.Sprint("again ", i))
		got := r.got()
		if len(got) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no message after the reconnection")
		}
		time.Sleep(50 * time.Millisecond)
	}
	sub.Unsubscribe()
	n := len(r.got())
	// A fresh subscriber on the same node proves that the next message went out after the
	// unsubscription was processed.
	fence := newRecorder()
	subscribe(t, a, "room", fence)
	publish(t, b, "room", polysock.Text, "after")
	// (fence may also get retries of the loop above still on their way: they were
	// published before it subscribed.)
	fence.wait(t, "the fence message", func(m []string, _ []error) bool {
		return len(m) > 0 && m[len(m)-1] == "room:text:after"
	})
	if got := r.got(); len(got) != n {
		t.Fatalf("a message reached an ended subscription: %v", got[n:])
	}
}

// The registry: each node finds the others' advertised URLs; an unknown id or a closed
// node is ErrUnknownNode; a live node's id cannot be taken; a zero id is random.
func TestNodeRegistry(t *testing.T) {
	e := newEnv(t)
	a := e.broker("a")
	b := e.broker("b")
	ctx := context.Background()
	u, err := a.NodeURL(ctx, "b")
	if err != nil || u.String() != "http://127.0.0.1:1" {
		t.Fatalf("NodeURL(b) = %v, %v", u, err)
	}
	if u, err := a.NodeURL(ctx, "a"); err != nil || u.String() != "http://127.0.0.1:1" {
		t.Fatalf("NodeURL(self) = %v, %v", u, err)
	}
	if _, err := a.NodeURL(ctx, "nobody"); !errors.Is(err, broker.ErrUnknownNode) {
		t.Fatalf("NodeURL(nobody): %v, want ErrUnknownNode", err)
	}
	if _, err := psredis.New(ctx, e.client(), &psredis.Options{NodeID: "a", AdvertiseURL: "http://127.0.0.1:2"}); err == nil {
		t.Fatal("a second node took the live id a")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c := e.broker("") // random id; it never looked b up, so nothing is cached
	if !broker.ValidNodeID(c.NodeID()) {
		t.Fatalf("random node id %q is not valid", c.NodeID())
	}
	if _, err := c.NodeURL(ctx, "b"); !errors.Is(err, broker.ErrUnknownNode) {
		t.Fatalf("NodeURL(closed b): %v, want ErrUnknownNode", err)
	}
	// After a clean Close the id is free again.
	b2, err := psredis.New(ctx, e.client(), &psredis.Options{NodeID: "b", AdvertiseURL: "http://127.0.0.1:3"})
	if err != nil {
		t.Fatalf("reusing a closed node's id: %v", err)
	}
	_ = b2.Close()
}

func TestNewRefusesBadOptions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, o := range []*psredis.Options{
		nil,
		{AdvertiseURL: "127.0.0.1:80"},
		{AdvertiseURL: "ftp://x"},
		{NodeID: "a_b", AdvertiseURL: "http://x"},
	} {
		if b, err := psredis.New(ctx, e.client(), o); err == nil {
			_ = b.Close()
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

// A topic's last handler leaving and a new one arriving at once (a room emptied and
// joined again): the new subscription holds, whatever the order of the two calls'
// commands could have been.
func TestResubscribeRightAfterUnsubscribe(t *testing.T) {
	e := newEnv(t)
	a, b := e.broker("a"), e.broker("b")
	for i := range 30 {
		old := subscribe(t, a, "room", newRecorder())
		r := newRecorder()
		type result struct {
			sub broker.Subscription
			err error
		}
		done := make(chan result)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			sub, err := a.Subscribe(ctx, "room", r)
			done <- result{sub, err}
		}()
		old.Unsubscribe()
		res := <-done
		if res.err != nil {
			t.Fatal(res.err)
		}
		sub := res.sub
		publish(t, b, "room", polysock.Text, fmt.Sprint(i))
		r.wait(t, "the message after resubscribing", func(m []string, _ []error) bool { return len(m) > 0 })
		sub.Unsubscribe()
	}
}
