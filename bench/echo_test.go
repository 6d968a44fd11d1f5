package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// The echo load of the issue: 50 connections, 64-byte binary messages.
const (
	echoConns = 50
	echoSize  = 64
	// echoGuard bounds one benchmark run; it is a hang guard, not a measurement.
	echoGuard = 5 * time.Minute
)

// echoWindows are the messages each connection keeps in flight: 1 is a latency-bound
// ping-pong, 16 a pipelined load where batching can show.
var echoWindows = []int{1, 16}

// echoConn is one client connection of an echo stack under test.
type echoConn interface {
	send(ctx context.Context, p []byte) error
	recv(ctx context.Context) ([]byte, error)
	close() error
}

// echoStack is a server and its client: polysock (server.Server + client.Conn) or raw
// gorilla/websocket (RawEcho + websocket.Conn).
type echoStack struct {
	name string
	// start serves the echo on 127.0.0.1 and returns its WebSocket URL and a stop function.
	start func(tb testing.TB) (url string, stop func())
	dial  func(ctx context.Context, url string) (echoConn, error)
}

// BenchmarkEcho measures echo throughput, in messages per second, of polysock (server +
// Go client) and of the raw gorilla/websocket echo, with echoConns connections each keeping
// a window of messages in flight. Server and clients run in this process; see
// docs/BENCHMARKS.md ("Method") for why. The comparison across servers, each in its own
// process, is bench/cmd/benchrun.
func BenchmarkEcho(b *testing.B) {
	for _, w := range echoWindows {
		for _, st := range echoStacks {
			b.Run(fmt.Sprintf("window=%d/impl=%s", w, st.name), func(b *testing.B) { runEcho(b, st, w) })
		}
	}
}

// runEcho sends b.N messages, spread evenly over echoConns connections, and waits for
// every echo. Starting the server and dialing are not timed.
func runEcho(b *testing.B, st echoStack, window int) {
	b.ReportAllocs()
	ctx, cancel := context.WithTimeout(context.Background(), echoGuard)
	defer cancel()
	url, stop := st.start(b)
	defer stop()
	conns := make([]echoConn, echoConns)
	for i := range conns {
		c, err := st.dial(ctx, url)
		if err != nil {
			b.Fatalf("failed to dial connection %d: %v", i, err)
		}
		conns[i] = c
	}
	defer closeAll(b, conns)
	payload := make([]byte, echoSize)
	for i := range payload {
		payload[i] = byte(i)
	}

	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	spawned := goroutinesCreated()
	b.ResetTimer()
	for i, c := range conns {
		n := b.N / len(conns)
		if i < b.N%len(conns) {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = drive(ctx, c, payload, n, window)
		}()
	}
	wg.Wait()
	b.StopTimer()
	spawned = goroutinesCreated() - spawned
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	// Goroutines started per echoed message, in this process (the load's own included).
	b.ReportMetric(float64(spawned)/float64(b.N), "goroutines/op")
}

// goroutinesCreated is the number of goroutines this process has started.
func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// drive sends n copies of payload on c, never more than window unanswered, and checks
// that each echo equals payload.
func drive(ctx context.Context, c echoConn, payload []byte, n, window int) error {
	if window == 1 {
		for range n {
			if err := c.send(ctx, payload); err != nil {
				return err
			}
			if err := recvEcho(ctx, c, payload); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	credits := make(chan struct{}, window)
	sent := make(chan error, 1)
	go func() {
		for range n {
			select {
			case credits <- struct{}{}:
			case <-ctx.Done():
				sent <- ctx.Err()
				return
			}
			if err := c.send(ctx, payload); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for range n {
		if err := recvEcho(ctx, c, payload); err != nil {
			return err
		}
		<-credits
	}
	return <-sent
}

func recvEcho(ctx context.Context, c echoConn, payload []byte) error {
	p, err := c.recv(ctx)
	if err != nil {
		return err
	}
	if !bytes.Equal(p, payload) {
		return fmt.Errorf("echo differs: got %d bytes %x", len(p), p)
	}
	return nil
}

func closeAll(tb testing.TB, conns []echoConn) {
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.close(); err != nil {
				tb.Errorf("failed to close: %v", err)
			}
		}()
	}
	wg.Wait()
}
