package framers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/polysock/polysock/bench/loadgen"
	"github.com/polysock/polysock/bench/servers"
)

// BenchmarkFramerEcho is the echo-64 and echo-1k scenarios of benchrun as a Go
// benchmark, for profiling the servers with -cpuprofile / -memprofile and comparing
// changes with benchstat: 50 connections of one target, one message of 64 B or 1 KiB in
// flight each, server and clients in this process. ns/op is per echoed message; allocations count both sides.
func BenchmarkFramerEcho(b *testing.B) {
	for _, size := range []int{64, 1024} {
		for _, f := range []loadgen.Framer{Raw{}, PolysockLean{}} {
			b.Run(fmt.Sprintf("size=%d/target=%s", size, f.Name()), func(b *testing.B) { benchEcho(b, f, 50, size) })
		}
	}
}

func benchEcho(b *testing.B, f loadgen.Framer, conns, size int) {
	b.ReportAllocs()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // hang guard
	defer cancel()
	h, stop, err := servers.New(Server(f.Name()))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer func() { srv.CloseClientConnections(); srv.Close(); stop() }()
	cs := make([]loadgen.Conn, conns)
	for i := range cs {
		if cs[i], err = f.Dial(ctx, srv.URL); err != nil {
			b.Fatal(err)
		}
	}
	defer loadgen.CloseAll(cs)
	payload := bytes.Repeat([]byte("x"), size)
	errs := make([]error, conns)
	var wg sync.WaitGroup
	b.ResetTimer()
	for i, c := range cs {
		n := b.N / conns
		if i < b.N%conns {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range n {
				if err := c.Send(ctx, payload); err != nil {
					errs[i] = err
					return
				}
				m, err := c.Recv(ctx)
				if err != nil {
					errs[i] = err
					return
				}
				if !bytes.Equal(m, payload) {
					errs[i] = fmt.Errorf("connection %d, echo %d: got %d bytes, not the message", i, j, len(m))
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
