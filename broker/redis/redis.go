package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/broker"
)

// Options configures New. A nil *Options means defaults; AdvertiseURL has none and is
// required.
type Options struct {
	// NodeID is this node's id, 1–32 characters from [A-Za-z0-9-], unique among live
	// nodes: New fails while another live node holds it. Zero means a random id, new on
	// every start.
	NodeID string
	// AdvertiseURL is the base URL, "http://host:port" or "https://host:port", at which
	// the other nodes reach this node's HTTP server (the request path is kept when a
	// request is passed on, so every node must mount polysock at the same path). Required.
	AdvertiseURL string
	// Prefix starts every Redis key and channel name the broker uses, so that several
	// clusters can share one Redis. Zero means "polysock:".
	Prefix string
	// NodeTTL is how long this node's registration lives without being refreshed; it is
	// refreshed every NodeTTL/3. A node that stops refreshing is unknown to the others
	// after at most NodeTTL. Zero means 10 s.
	NodeTTL time.Duration
	// Logger receives the broker's logs. Nil discards them.
	Logger *slog.Logger
}

// Broker is a broker.Broker and broker.Router on Redis. Close it when the node stops.
type Broker struct {
	rdb      goredis.UniversalClient
	ps       *goredis.PubSub
	id       string
	self     *url.URL
	value    string // the registration's value: instance token and URL
	prefix   string
	ttl      time.Duration
	log      *slog.Logger
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closeErr error
	once     sync.Once

	// subMu orders the SUBSCRIBE and UNSUBSCRIBE commands as the changes of topics that
	// cause them: it is held across the change and the command's write.
	subMu  sync.Mutex
	mu     sync.Mutex
	topics map[string][]*sub      // by topic; a topic with handlers is subscribed
	pings  map[string]chan error  // subscription fences waiting for their PONG, by token
	routes map[string]cachedRoute // NodeURL's cache, by node id
}

type sub struct {
	b     *Broker
	topic string
	h     broker.Handler
	once  sync.Once
}

type cachedRoute struct {
	u       *url.URL
	expires time.Time
}

// routeCache is how long NodeURL keeps an answer. A dead node's entry may live on for
// that long, which costs a failed dial: the answer is then the same (unknown session).
const routeCache = time.Second

// opTimeout bounds the Redis commands the broker sends on its own (registration,
// UNSUBSCRIBE).
const opTimeout = 3 * time.Second

// New registers this node on rdb and starts its subscriber connection and its
// registration refresh. rdb stays the caller's: Close does not close it. ctx bounds the
// start only.
func New(ctx context.Context, rdb goredis.UniversalClient, opts *Options) (*Broker, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.NodeID == "" {
		o.NodeID = randomHex(4)
	}
	if !broker.ValidNodeID(o.NodeID) {
		return nil, fmt.Errorf("failed to start the redis broker: bad node id %q (want 1-32 of [A-Za-z0-9-])", o.NodeID)
	}
	self, err := url.Parse(o.AdvertiseURL)
	if err != nil || (self.Scheme != "http" && self.Scheme != "https") || self.Host == "" {
		return nil, fmt.Errorf("failed to start the redis broker: AdvertiseURL %q is not an http(s)://host:port URL", o.AdvertiseURL)
	}
	self = &url.URL{Scheme: self.Scheme, Host: self.Host}
	if o.Prefix == "" {
		o.Prefix = "polysock:"
	}
	if o.NodeTTL <= 0 {
		o.NodeTTL = 10 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b := &Broker{
		rdb:    rdb,
		id:     o.NodeID,
		self:   self,
		value:  randomHex(8) + " " + self.String(),
		prefix: o.Prefix,
		ttl:    o.NodeTTL,
		log:    log,
		topics: map[string][]*sub{},
		pings:  map[string]chan error{},
		routes: map[string]cachedRoute{},
	}
	ok, err := b.register(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to register node %s: %w", b.id, err)
	}
	if !ok {
		return nil, fmt.Errorf("failed to register node %s: another live node holds that id (its registration expires within %v of its end)", b.id, b.ttl)
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.ps = rdb.Subscribe(b.ctx)
	b.wg.Add(2)
	go b.receive()
	go b.heartbeat()
	return b, nil
}

func randomHex(n int) string {
	p := make([]byte, n)
	_, _ = rand.Read(p)
	return hex.EncodeToString(p)
}

func (b *Broker) channel(topic string) string { return b.prefix + "t:" + topic }

// Publish publishes m on Redis. It returns once Redis has taken it.
func (b *Broker) Publish(ctx context.Context, m broker.Message) error {
	payload := make([]byte, 1+len(m.Data))
	payload[0] = byte(m.Type)
	copy(payload[1:], m.Data)
	if err := b.rdb.Publish(ctx, b.channel(m.Topic), payload).Err(); err != nil {
		return fmt.Errorf("failed to publish on redis: %w", err)
	}
	return nil
}

// Subscribe registers h for topic. The first handler of a topic on this node subscribes
// on Redis, and Subscribe returns once Redis has processed the subscription (a PING
// through the subscriber connection comes back after it), so that every message
// published afterwards reaches h.
func (b *Broker) Subscribe(ctx context.Context, topic string, h broker.Handler) (broker.Subscription, error) {
	s := &sub{b: b, topic: topic, h: h}
	b.subMu.Lock()
	b.mu.Lock()
	if b.ctx.Err() != nil {
		b.mu.Unlock()
		b.subMu.Unlock()
		return nil, errors.New("failed to subscribe: broker closed")
	}
	first := len(b.topics[topic]) == 0
	b.topics[topic] = append(b.topics[topic], s)
	token := randomHex(8)
	fence := make(chan error, 1)
	b.pings[token] = fence
	b.mu.Unlock()
	var err error
	if first {
		err = b.ps.Subscribe(ctx, b.channel(topic))
	}
	b.subMu.Unlock()
	if err == nil {
		err = b.ps.Ping(ctx, token)
	}
	if err == nil {
		select {
		case err = <-fence:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	b.mu.Lock()
	delete(b.pings, token)
	b.mu.Unlock()
	if err != nil {
		s.Unsubscribe()
		return nil, fmt.Errorf("failed to subscribe on redis: %w", err)
	}
	return s, nil
}

// Unsubscribe removes the handler; the last one of a topic on this node unsubscribes on
// Redis (bounded by a short timeout; a failure is logged: the connection is then broken,
// and a new one subscribes only to topics that still have handlers).
func (s *sub) Unsubscribe() {
	s.once.Do(func() {
		b := s.b
		b.subMu.Lock()
		defer b.subMu.Unlock()
		b.mu.Lock()
		subs := b.topics[s.topic]
		rest := make([]*sub, 0, len(subs))
		for _, o := range subs {
			if o != s {
				rest = append(rest, o)
			}
		}
		last := len(rest) == 0 && len(subs) > 0
		if last {
			delete(b.topics, s.topic)
		} else {
			b.topics[s.topic] = rest
		}
		b.mu.Unlock()
		if last && b.ctx.Err() == nil {
			ctx, cancel := context.WithTimeout(b.ctx, opTimeout)
			defer cancel()
			if err := b.ps.Unsubscribe(ctx, b.channel(s.topic)); err != nil {
				b.log.Warn("polysock: redis unsubscribe failed", "topic", s.topic, "err", err)
			}
		}
	})
}

// receive reads the subscriber connection: messages go to their topic's handlers in
// order, PONGs release the Subscribe calls waiting for them, and a broken connection is
// reported to every handler before the next read reconnects and resubscribes.
func (b *Broker) receive() {
	defer b.wg.Done()
	wait := 50 * time.Millisecond
	for {
		msg, err := b.ps.Receive(b.ctx)
		if b.ctx.Err() != nil {
			return
		}
		if err != nil {
			b.lost(err)
			select {
			case <-b.ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, 2*time.Second)
			continue
		}
		wait = 50 * time.Millisecond
		switch m := msg.(type) {
		case *goredis.Message:
			b.deliver(m)
		case *goredis.Pong:
			b.mu.Lock()
			fence := b.pings[m.Payload]
			delete(b.pings, m.Payload)
			b.mu.Unlock()
			if fence != nil {
				fence <- nil
			}
		}
	}
}

func (b *Broker) deliver(m *goredis.Message) {
	topic, ok := strings.CutPrefix(m.Channel, b.prefix+"t:")
	if !ok || len(m.Payload) == 0 {
		return
	}
	if t := polysock.MessageType(m.Payload[0]); t != polysock.Text && t != polysock.Binary {
		b.log.Warn("polysock: redis message of unknown type dropped", "channel", m.Channel)
		return
	}
	msg := broker.Message{Topic: topic, Type: polysock.MessageType(m.Payload[0]), Data: []byte(m.Payload[1:])}
	b.mu.Lock()
	subs := b.topics[topic]
	b.mu.Unlock()
	for _, s := range subs {
		s.h.Deliver(msg)
	}
}

// lost reports a broken subscriber connection: every handler may have missed messages,
// and every Subscribe waiting for its fence fails.
func (b *Broker) lost(err error) {
	b.log.Error("polysock: redis subscriber connection lost; messages may be missing", "err", err)
	b.mu.Lock()
	var subs []*sub
	for _, ts := range b.topics {
		subs = append(subs, ts...)
	}
	for token, fence := range b.pings {
		delete(b.pings, token)
		fence <- fmt.Errorf("subscriber connection lost: %w", err)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.h.Lost(err)
	}
}

// Close unregisters the node, stops the subscriber connection and the refresh, and
// waits for the broker's goroutines. Subscriptions get nothing more. It does not close
// the Redis client given to New.
func (b *Broker) Close() error {
	b.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		b.closeErr = b.unregister(ctx)
		b.mu.Lock()
		b.cancel()
		b.mu.Unlock()
		if err := b.ps.Close(); err != nil && b.closeErr == nil {
			b.closeErr = fmt.Errorf("failed to close the redis subscriber: %w", err)
		}
		b.wg.Wait()
	})
	return b.closeErr
}
