package broker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/broker"
	"github.com/polysock/polysock/internal/seqcheck"
)

// recorder is a Handler that keeps what it is given.
type recorder struct {
	mu   sync.Mutex
	msgs []string
	lost int
}

func (r *recorder) Deliver(m broker.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m.Topic+":"+string(m.Data))
	r.mu.Unlock()
}

func (r *recorder) Lost(error) {
	r.mu.Lock()
	r.lost++
	r.mu.Unlock()
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

func publish(t *testing.T, b broker.Broker, topic, data string) {
	t.Helper()
	if err := b.Publish(context.Background(), broker.Message{Topic: topic, Type: polysock.Text, Data: []byte(data)}); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryDeliversToSubscribersOfTheTopic(t *testing.T) {
	b := broker.NewMemory()
	ctx := context.Background()
	var a, a2, other recorder
	publish(t, b, "a", "before") // nobody subscribed: dropped
	subA, err := b.Subscribe(ctx, "a", &a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, "a", &a2); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, "b", &other); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "a", "1")
	publish(t, b, "b", "x")
	publish(t, b, "a", "2")
	subA.Unsubscribe()
	subA.Unsubscribe() // twice is fine
	publish(t, b, "a", "3")
	if got, want := fmt.Sprint(a.got()), "[a:1 a:2]"; got != want {
		t.Errorf("a got %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(a2.got()), "[a:1 a:2 a:3]"; got != want {
		t.Errorf("a2 got %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(other.got()), "[b:x]"; got != want {
		t.Errorf("other got %s, want %s", got, want)
	}
}

// Concurrent publishers: every subscriber sees the same order, and each publisher's
// messages in the order it published them.
func TestMemoryOneOrderPerTopic(t *testing.T) {
	b := broker.NewMemory()
	subs := make([]*recorder, 4)
	for i := range subs {
		subs[i] = &recorder{}
		if _, err := b.Subscribe(context.Background(), "t", subs[i]); err != nil {
			t.Fatal(err)
		}
	}
	const pubs, each = 4, 500
	var wg sync.WaitGroup
	for p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_ = b.Publish(context.Background(), broker.Message{Topic: "t", Type: polysock.Text, Data: []byte(seqcheck.Name("", p, i))})
			}
		}()
	}
	wg.Wait()
	first := subs[0].got()
	if len(first) != pubs*each {
		t.Fatalf("got %d messages, want %d", len(first), pubs*each)
	}
	if _, err := seqcheck.Check(first, "t:", pubs); err != nil {
		t.Fatal(err)
	}
	for _, s := range subs[1:] {
		if err := seqcheck.Same(s.got(), first); err != nil {
			t.Fatalf("subscribers saw different orders: %v", err)
		}
	}
}

// A handler may unsubscribe (itself or another) from Deliver without deadlock.
func TestMemoryUnsubscribeFromDeliver(t *testing.T) {
	b := broker.NewMemory()
	h := &unsubscriber{}
	sub, err := b.Subscribe(context.Background(), "t", h)
	if err != nil {
		t.Fatal(err)
	}
	h.sub = sub
	publish(t, b, "t", "1")
	publish(t, b, "t", "2")
	if h.n != 1 {
		t.Fatalf("delivered %d times, want 1", h.n)
	}
}

type unsubscriber struct {
	sub broker.Subscription
	n   int
}

func (u *unsubscriber) Deliver(broker.Message) { u.n++; u.sub.Unsubscribe() }
func (u *unsubscriber) Lost(error)             {}

func TestMemoryCancelledContext(t *testing.T) {
	b := broker.NewMemory()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Publish(ctx, broker.Message{Topic: "t"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish: %v, want context.Canceled", err)
	}
	if _, err := b.Subscribe(ctx, "t", &recorder{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe: %v, want context.Canceled", err)
	}
}

func TestValidNodeID(t *testing.T) {
	for id, ok := range map[string]bool{"n1": true, "node-A9": true, "": false, "a_b": false, "a.b": false,
		"01234567890123456789012345678901": true, "0123456789012345678901234567890123": false} {
		if broker.ValidNodeID(id) != ok {
			t.Errorf("ValidNodeID(%q) = %v, want %v", id, !ok, ok)
		}
	}
}
