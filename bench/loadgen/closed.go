package loadgen

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is what a driver measured.
type Result struct {
	Msgs    int64         // messages delivered and verified
	Elapsed time.Duration // from the first send to the last verified delivery
	Latency *hdrhistogram.Histogram
	Extra   map[string]float64 // driver-specific figures (e.g. skipped open-loop slots)
}

// Rate is Msgs per second of Elapsed.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Msgs) / r.Elapsed.Seconds()
}

// ClosedLoop runs the closed-loop echo load on conns for duration: each connection sends
// burst messages of size bytes (one Send call), then waits for their echoes and verifies
// each (id = the connection's index, sequence numbers from 0, content), records each round
// trip, and starts again until the duration has passed. Every message sent is received
// before it returns, so count, order and content are verified for all of them. An error
// ends the run and closes nothing; the caller closes conns.
func ClosedLoop(ctx context.Context, conns []Conn, size, burst int, duration time.Duration) (Result, error) {
	if burst < 1 {
		burst = 1
	}
	hists := make([]*hdrhistogram.Histogram, len(conns))
	counts := make([]int64, len(conns))
	errs := make([]error, len(conns))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for i, c := range conns {
		hists[i] = NewHistogram()
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = closedConn(ctx, c, strconv.Itoa(i), size, burst, deadline, hists[i])
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	stop := closeOnDone(ctx, conns)
	wg.Wait()
	stop()
	res := Result{Elapsed: time.Since(start), Latency: NewHistogram()}
	for i := range conns {
		if errs[i] != nil {
			return res, errs[i]
		}
		res.Msgs += counts[i]
		res.Latency.Merge(hists[i])
	}
	return res, ctx.Err()
}

func closedConn(ctx context.Context, c Conn, id string, size, burst int, deadline time.Time, h *hdrhistogram.Histogram) (int64, error) {
	check := Checker{ID: id, Size: size}
	msgs := make([][]byte, burst)
	var seq uint64
	for time.Now().Before(deadline) {
		now := time.Now().UnixNano()
		for j := range msgs {
			msgs[j] = Append(make([]byte, 0, size), id, seq, now, size) // fresh: a framer may keep it after Send
			seq++
		}
		if err := c.Send(ctx, msgs...); err != nil {
			return int64(check.Next), fmt.Errorf("connection %s: failed to send: %w", id, err)
		}
		for range burst {
			b, err := c.Recv(ctx)
			if err != nil {
				return int64(check.Next), fmt.Errorf("connection %s: failed to receive message %d: %w", id, check.Next, err)
			}
			m, err := check.Check(b)
			if err != nil {
				return int64(check.Next), err
			}
			_ = h.RecordValue(micros(time.Duration(time.Now().UnixNano() - m.Sent)))
		}
	}
	return int64(check.Next), nil
}
