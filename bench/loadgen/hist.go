package loadgen

import (
	"context"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// NewHistogram returns a latency histogram in microseconds from 1 µs to 60 s with 3
// significant digits.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, 60_000_000, 3)
}

// micros converts d to whole microseconds, at least 1 and at most the histogram's top.
func micros(d time.Duration) int64 {
	us := d.Microseconds()
	if us < 1 {
		return 1
	}
	if us > 60_000_000 {
		return 60_000_000
	}
	return us
}

// closeOnDone closes conns when ctx ends (which unblocks their pending Recv); the
// returned function stops that.
func closeOnDone(ctx context.Context, conns []Conn) func() bool {
	return context.AfterFunc(ctx, func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
}
