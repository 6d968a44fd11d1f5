package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/client"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/server"
)

// The HTTP transports measured end to end: polysock server + Go client, one transport
// chosen explicitly (client.Options.Transports). See docs/BENCHMARKS.md, "HTTP transports".

// benchTransports are the transports BenchmarkTransportEcho and BenchmarkTransportPush
// compare, in the order they run.
var benchTransports = []string{wire.TransportWebSocket, wire.TransportStream, wire.TransportPoll}

const (
	// pushSize is the payload of each pushed message.
	pushSize = 64
	// pushWindow bounds the bytes a push handler keeps unacknowledged (Session.Buffered),
	// far below the 8 MiB outbox, so that the handler writes "as fast as the session
	// allows" without ever being closed with 4008.
	pushWindow = 1 << 20
)

// newHTTPClient is the client side's HTTP transport: enough idle connections per host for
// every session's held GET and its POSTs (http.DefaultTransport keeps only 2, so the other
// requests would each open a new TCP connection).
func newHTTPClient() (*http.Client, func()) {
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true}
	return &http.Client{Transport: tr}, tr.CloseIdleConnections
}

// startServer serves a polysock server with handler h on 127.0.0.1 and returns its URL.
func startServer(tb testing.TB, h func(*server.Session)) (string, func()) {
	srv := server.New(h, nil)
	ts := httptest.NewServer(srv)
	return ts.URL, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("failed to shut down: %v", err)
		}
		ts.Close()
	}
}

func dialTransport(ctx context.Context, url, transport string, hc *http.Client) (*client.Conn, error) {
	c, err := client.Dial(ctx, url, &client.Options{Transports: []string{transport}, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	if c.Transport() != transport {
		_ = c.Close(polysock.CloseNormal, "")
		return nil, fmt.Errorf("dialed %s, got transport %s", transport, c.Transport())
	}
	return c, nil
}

// BenchmarkTransportEcho measures echo throughput and round-trip latency per transport:
// echoConns sessions, each ping-pong (one 64-byte binary message in flight), every echo
// checked byte for byte. Metrics: msgs/s (b.N / timed seconds) and the 50th and 99th
// percentiles of the round trips (Write to the echo's Read) of all sessions, in µs.
func BenchmarkTransportEcho(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run("transport="+tr, func(b *testing.B) {
			b.ReportAllocs()
			ctx, cancel := context.WithTimeout(context.Background(), echoGuard)
			defer cancel()
			url, stop := startServer(b, PolysockEcho)
			defer stop()
			hc, closeIdle := newHTTPClient()
			defer closeIdle()
			conns := make([]*client.Conn, echoConns)
			defer func() {
				for _, c := range conns {
					if c != nil {
						_ = c.Close(polysock.CloseNormal, "")
					}
				}
			}()
			for i := range conns {
				c, err := dialTransport(ctx, url, tr, hc)
				if err != nil {
					b.Fatalf("failed to dial session %d: %v", i, err)
				}
				conns[i] = c
			}
			payload := make([]byte, echoSize)
			for i := range payload {
				payload[i] = byte(i)
			}
			lat := runLoad(b, len(conns), func(i int) error {
				c := conns[i]
				if err := c.Write(ctx, polysock.Binary, payload); err != nil {
					return err
				}
				return recvEcho(ctx, polysockConn{c}, payload)
			})
			reportLatency(b, lat, "msgs/s")
		})
	}
}

// runLoad runs b.N calls of op, spread evenly over workers goroutines (op gets the
// worker's index), and returns the duration of every call. Only the calls are timed.
func runLoad(b *testing.B, workers int, op func(worker int) error) []time.Duration {
	lats := make([][]time.Duration, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range workers {
		n := b.N / workers
		if w < b.N%workers {
			n++
		}
		lats[w] = make([]time.Duration, 0, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				t0 := time.Now()
				if err := op(w); err != nil {
					errs[w] = err
					return
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	return slices.Concat(lats...)
}

// reportLatency reports the rate (b.N per timed second, named unit) and the 50th and 99th
// percentiles of lat in µs.
func reportLatency(b *testing.B, lat []time.Duration, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := int(p * float64(len(lat)-1))
		return float64(lat[i]) / float64(time.Microsecond)
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// pushAll is a session handler that writes n messages of pushSize bytes as fast as the
// session allows: it keeps at most pushWindow bytes unacknowledged and checks again every
// 100 µs while the window is full. Then it waits for the session's end.
func pushAll(n int) func(*server.Session) {
	return func(s *server.Session) {
		ctx := s.Context()
		msg := make([]byte, pushSize)
		for range n {
			for s.Buffered() > pushWindow {
				select {
				case <-time.After(100 * time.Microsecond):
				case <-ctx.Done():
					return
				}
			}
			if err := s.Write(ctx, polysock.Binary, msg); err != nil {
				return
			}
		}
		<-ctx.Done()
	}
}

// BenchmarkTransportPush measures the server push rate per transport: one session whose
// handler writes b.N 64-byte messages as fast as the session allows (pushAll), read by the
// Go client (which acknowledges every 64 messages). Stream responses are recycled at the
// server's default 128 KiB; polls return everything queued. Metric: msgs/s.
func BenchmarkTransportPush(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run("transport="+tr, func(b *testing.B) {
			b.ReportAllocs()
			ctx, cancel := context.WithTimeout(context.Background(), echoGuard)
			defer cancel()
			url, stop := startServer(b, pushAll(b.N))
			defer stop()
			hc, closeIdle := newHTTPClient()
			defer closeIdle()
			c, err := dialTransport(ctx, url, tr, hc)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = c.Close(polysock.CloseNormal, "") }()
			b.SetBytes(pushSize)
			b.ResetTimer()
			for i := range b.N {
				typ, data, err := c.Read(ctx)
				if err != nil {
					b.Fatalf("message %d: %v", i, err)
				}
				if typ != polysock.Binary || len(data) != pushSize {
					b.Fatalf("message %d: %v of %d bytes", i, typ, len(data))
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
