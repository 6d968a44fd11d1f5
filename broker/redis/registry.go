package redis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/polysock/polysock/broker"
)

// This file is the node registry: key <prefix>node:<id> holds "<instance> <URL>" with a
// TTL that the node refreshes, so that other nodes find the node that owns a session.

// claim sets the registration when it is absent or already this instance's, and reports
// whether it did; another instance's live registration is left alone.
var claim = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`)

// release deletes the registration if it is this instance's.
var release = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

func (b *Broker) nodeKey(id string) string { return b.prefix + "node:" + id }

func (b *Broker) register(ctx context.Context) (bool, error) {
	n, err := claim.Run(ctx, b.rdb, []string{b.nodeKey(b.id)}, b.value, b.ttl.Milliseconds()).Int()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

func (b *Broker) unregister(ctx context.Context) error {
	if err := release.Run(ctx, b.rdb, []string{b.nodeKey(b.id)}, b.value).Err(); err != nil {
		return fmt.Errorf("failed to unregister node %s: %w", b.id, err)
	}
	return nil
}

// heartbeat refreshes the registration every ttl/3 until Close. A refresh that fails is
// logged and retried at the next tick; one that finds the id taken by another instance
// (this node was silent past its TTL and another took the id) is logged as an error.
func (b *Broker) heartbeat() {
	defer b.wg.Done()
	tick := time.NewTicker(b.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(b.ctx, opTimeout)
		ok, err := b.register(ctx)
		cancel()
		switch {
		case b.ctx.Err() != nil:
			return
		case err != nil:
			b.log.Warn("polysock: node registration refresh failed", "node", b.id, "err", err)
		case !ok:
			b.log.Error("polysock: node id taken by another node; requests for this node's sessions go there", "node", b.id)
		}
	}
}

// NodeID is this node's id.
func (b *Broker) NodeID() string { return b.id }

// NodeURL returns the advertised URL of node id, from a cache of one second or from
// Redis. It wraps broker.ErrUnknownNode when no live node has that id.
func (b *Broker) NodeURL(ctx context.Context, id string) (*url.URL, error) {
	if id == b.id {
		return b.self, nil
	}
	now := time.Now()
	b.mu.Lock()
	r, ok := b.routes[id]
	b.mu.Unlock()
	if ok && now.Before(r.expires) {
		return r.u, nil
	}
	v, err := b.rdb.Get(ctx, b.nodeKey(id)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("failed to find node %s: %w", id, broker.ErrUnknownNode)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to find node %s: %w", id, err)
	}
	_, raw, _ := strings.Cut(v, " ")
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("failed to find node %s: bad registration %q", id, v)
	}
	b.mu.Lock()
	if len(b.routes) > 1024 {
		clear(b.routes)
	}
	b.routes[id] = cachedRoute{u: u, expires: now.Add(routeCache)}
	b.mu.Unlock()
	return u, nil
}
