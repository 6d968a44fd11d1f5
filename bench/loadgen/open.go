package loadgen

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// OpenLoop sends rate messages per second in total, spread evenly over conns (each
// connection sends one message every len(conns)/rate seconds, on a fixed schedule that
// does not wait for echoes) for duration, then waits up to drain for the outstanding
// echoes. Every echo is verified (count, order, content) and its latency (now − send time)
// recorded with RecordCorrectedValue at the connection's send interval: when a connection
// falls behind its schedule (a Send that blocked), it skips the missed slots instead of
// bursting, and the histogram back-fills the samples that the stall kept it from taking
// (coordinated omission). Result.Extra["skipped"] counts the skipped slots.
func OpenLoop(ctx context.Context, conns []Conn, size int, rate float64, duration, drain time.Duration) (Result, error) {
	interval := time.Duration(float64(len(conns)) / rate * float64(time.Second))
	if interval <= 0 {
		return Result{}, fmt.Errorf("rate %v too high for %d connections", rate, len(conns))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var skipped atomic.Int64
	hists := make([]*hdrhistogram.Histogram, len(conns))
	counts := make([]int64, len(conns))
	errs := make([]error, 2*len(conns))
	start := time.Now()
	end := start.Add(duration)
	var wg sync.WaitGroup
	for i, c := range conns {
		id := strconv.Itoa(i)
		hists[i] = NewHistogram()
		// One token per message sent; the receiver reads one echo per token, so it never
		// waits for an echo of a message that was not sent.
		tokens := make(chan struct{}, int(duration/interval)+2)
		wg.Add(2)
		go func() { // sender
			defer wg.Done()
			defer close(tokens)
			var seq uint64
			// Stagger the connections over one interval.
			next := start.Add(time.Duration(int64(interval) * int64(i) / int64(len(conns))))
			for next.Before(end) {
				if d := time.Until(next); d > 0 {
					t := time.NewTimer(d)
					select {
					case <-ctx.Done():
						t.Stop()
						return
					case <-t.C:
					}
				}
				b := Append(make([]byte, 0, size), id, seq, time.Now().UnixNano(), size)
				if err := c.Send(ctx, b); err != nil {
					errs[2*i] = fmt.Errorf("connection %s: failed to send: %w", id, err)
					cancel()
					return
				}
				seq++
				tokens <- struct{}{}
				next = next.Add(interval)
				if late := time.Since(next); late > interval {
					n := int64(late / interval)
					skipped.Add(n)
					next = next.Add(time.Duration(n) * interval)
				}
			}
		}()
		go func() { // receiver
			defer wg.Done()
			check := Checker{ID: id, Size: size}
			for range tokens {
				b, err := c.Recv(ctx)
				if err != nil {
					errs[2*i+1] = fmt.Errorf("connection %s: failed to receive message %d: %w", id, check.Next, err)
					cancel()
					return
				}
				m, err := check.Check(b)
				if err != nil {
					errs[2*i+1] = err
					cancel()
					return
				}
				lat := micros(time.Duration(time.Now().UnixNano() - m.Sent))
				_ = hists[i].RecordCorrectedValue(lat, micros(interval))
			}
			counts[i] = int64(check.Next)
		}()
	}
	guard := time.AfterFunc(duration+drain, cancel)
	defer guard.Stop()
	stop := closeOnDone(ctx, conns)
	wg.Wait()
	stop()
	res := Result{Elapsed: time.Since(start), Latency: NewHistogram(), Extra: map[string]float64{"skipped": float64(skipped.Load())}}
	for i := range conns {
		if err := errs[2*i]; err != nil {
			return res, err
		}
		if err := errs[2*i+1]; err != nil {
			return res, err
		}
		res.Msgs += counts[i]
		res.Latency.Merge(hists[i])
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("echoes still missing %v after the last send: %w", drain, err)
	}
	return res, nil
}
