package redis_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/client"
	"github.com/polysock/polysock/internal/chattest"
)

// benchSubsPerNode is how many WebSocket clients subscribe on each node.
const benchSubsPerNode = 2

// arrival is one message reaching one subscriber.
type arrival struct {
	sub int
	seq uint64
	at  time.Time
}

// BenchmarkClusterPublish measures Server.Publish on node n1 to WebSocket clients
// subscribed on every node (1 or 3 nodes, one real redis-server; with 3 nodes two thirds
// of the subscribers are on other nodes than the publisher):
//
//   - latency: one message at a time, from Publish to each subscriber's Read; reports
//     p50 and p99 over all (message, subscriber) pairs.
//   - throughput: 4 goroutines publish b.N messages back to back, each Publish waiting
//     for Redis's answer; reports messages published per second and deliveries per
//     second until the last subscriber got the last message (every subscriber gets each
//     publisher's messages exactly once and in order; checked).
func BenchmarkClusterPublish(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) { benchCluster(b, n) })
	}
}

func benchCluster(b *testing.B, nodes int) {
	e := newEnv(b)
	var ns []*node
	for i := range nodes {
		ns = append(ns, e.startNode(fmt.Sprintf("n%d", i+1)))
	}
	arrivals := make(chan arrival, 1<<16)
	subs := 0
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() { cancel(); wg.Wait() })
	for _, n := range ns {
		for range benchSubsPerNode {
			c, err := client.Dial(ctx, n.hs.URL+"?room=bench", &client.Options{Transports: []string{"websocket"}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = c.Close(1000, "") })
			if _, data, err := c.Read(ctx); err != nil || string(data) != chattest.Ready {
				b.Fatalf("first message %q, %v", data, err)
			}
			if !strings.HasPrefix(c.SessionID(), n.id+"_") {
				b.Fatalf("session %s not on %s", c.SessionID(), n.id)
			}
			sub := subs
			subs++
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					_, data, err := c.Read(ctx)
					if err != nil {
						return
					}
					select {
					case arrivals <- arrival{sub: sub, seq: binary.BigEndian.Uint64(data), at: time.Now()}:
					case <-ctx.Done():
						return
					}
				}
			}()
		}
	}
	pub := ns[0].srv
	var seq uint64
	publish := func(s uint64) {
		var msg [64]byte
		binary.BigEndian.PutUint64(msg[:], s)
		if err := pub.Publish(ctx, "bench", polysock.Binary, msg[:]); err != nil {
			b.Error(err)
		}
	}
	// await collects one arrival of each of the messages (from, to], in order, at every
	// subscriber.
	await := func(from, to uint64, each func(a arrival)) {
		next := make([]uint64, subs)
		for i := range next {
			next[i] = from + 1
		}
		for remaining := int(to-from) * subs; remaining > 0; remaining-- {
			a := <-arrivals
			if a.seq != next[a.sub] {
				b.Fatalf("subscriber %d got message %d, want %d", a.sub, a.seq, next[a.sub])
			}
			next[a.sub]++
			each(a)
		}
	}

	b.Run("latency", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N*subs)
		b.ResetTimer()
		for range b.N {
			seq++
			t0 := time.Now()
			publish(seq)
			await(seq-1, seq, func(a arrival) { lat = append(lat, a.at.Sub(t0)) })
		}
		b.StopTimer()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	})
	b.Run("throughput", func(b *testing.B) {
		const publishers = 4
		// Message k of publisher p carries seq base+p+1+k*publishers: each subscriber
		// checks that every publisher's messages arrive once and in order.
		base := seq
		seq += uint64(b.N)
		start := time.Now()
		b.ResetTimer()
		for p := range publishers {
			go func() {
				for s := base + 1 + uint64(p); s <= seq; s += publishers {
					publish(s)
				}
			}()
		}
		next := make([][publishers]uint64, subs)
		for i := range next {
			for p := range publishers {
				next[i][p] = base + 1 + uint64(p)
			}
		}
		for remaining := b.N * subs; remaining > 0; remaining-- {
			a := <-arrivals
			p := (a.seq - base - 1) % publishers
			if a.seq != next[a.sub][p] {
				b.Fatalf("subscriber %d got message %d, want %d", a.sub, a.seq, next[a.sub][p])
			}
			next[a.sub][p] += publishers
		}
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(float64(b.N*subs)/elapsed.Seconds(), "deliveries/s")
	})
}
