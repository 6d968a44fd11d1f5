package broker

import (
	"context"
	"fmt"
	"sync"
)

// Memory is the in-process Broker: topics reach the subscribers of this process only.
// The zero value is not usable; call NewMemory.
//
// Publish delivers synchronously, in the publisher's goroutine, to every handler of the
// topic, one publication of a topic at a time: every handler sees the topic's messages in
// the same order. A handler must therefore not Publish to the same topic from Deliver.
// Lost is never called.
type Memory struct {
	mu     sync.Mutex
	topics map[string]*memTopic
}

type memTopic struct {
	pub  sync.Mutex // held while a message of the topic is delivered
	subs []*memSub  // copied on change (guarded by Memory.mu)
}

type memSub struct {
	m     *Memory
	topic string
	h     Handler
	once  sync.Once
}

// NewMemory returns an empty in-memory broker.
func NewMemory() *Memory {
	return &Memory{topics: map[string]*memTopic{}}
}

// Publish delivers m to the handlers subscribed to m.Topic now. ctx is checked once.
func (b *Memory) Publish(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("failed to publish: %w", err)
	}
	b.mu.Lock()
	t := b.topics[m.Topic]
	b.mu.Unlock()
	if t == nil {
		return nil
	}
	t.pub.Lock()
	defer t.pub.Unlock()
	b.mu.Lock()
	subs := t.subs
	b.mu.Unlock()
	for _, s := range subs {
		s.h.Deliver(m)
	}
	return nil
}

// Subscribe registers h for topic. It does not block; ctx is checked once.
func (b *Memory) Subscribe(ctx context.Context, topic string, h Handler) (Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("failed to subscribe: %w", err)
	}
	s := &memSub{m: b, topic: topic, h: h}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[topic]
	if t == nil {
		t = &memTopic{}
		b.topics[topic] = t
	}
	t.subs = append(t.subs[:len(t.subs):len(t.subs)], s)
	return s, nil
}

// Unsubscribe removes the subscription; a topic without subscriptions is forgotten.
func (s *memSub) Unsubscribe() {
	s.once.Do(func() {
		b := s.m
		b.mu.Lock()
		defer b.mu.Unlock()
		t := b.topics[s.topic]
		if t == nil {
			return
		}
		subs := make([]*memSub, 0, len(t.subs))
		for _, o := range t.subs {
			if o != s {
				subs = append(subs, o)
			}
		}
		t.subs = subs
		if len(subs) == 0 {
			delete(b.topics, s.topic)
		}
	})
}
