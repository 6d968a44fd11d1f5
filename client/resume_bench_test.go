package client

import (
	"testing"
	"time"

	"github.com/polysock/polysock"
)

// BenchmarkResume measures, per transport, the time from a cut of every connection of a
// live session (the proxy closes them, mid-stream, as a dying middlebox would) to the
// delivery of the next message echoed by the server: the client notices the loss,
// dials a new carrier with ps_sid/ps_tok/ps_ack, learns the server's ack, replays and
// gets the echo. One op is one cut and one echo. The backoff is bounded to 1 ms: the
// first attempt after a loss goes out at once, but cuts closer than a second apart count
// as carriers dying young, which the default backoff (250 ms) would otherwise slow.
func BenchmarkResume(b *testing.B) {
	for _, tr := range conformanceTransports {
		b.Run(tr, func(b *testing.B) {
			rig := newResumeRig(b, echo, resumeServerOptions(), 0, faultConfig{})
			opts := rig.options(tr)
			opts.ReconnectMin, opts.ReconnectMax = time.Millisecond, time.Millisecond
			c := dial(b, rig.proxy.url(), opts)
			ctx := testCtx(b)
			msg := []byte("after the cut")
			// Warm up: one echo before the first cut.
			if err := c.Write(ctx, polysock.Text, msg); err != nil {
				b.Fatal(err)
			}
			if _, _, err := c.Read(ctx); err != nil {
				b.Fatal(err)
			}
			c.mu.Lock()
			before := c.resumes
			c.mu.Unlock()
			b.ResetTimer()
			for range b.N {
				rig.proxy.CutAll()
				if err := c.Write(ctx, polysock.Text, msg); err != nil {
					b.Fatal(err)
				}
				if _, data, err := c.Read(ctx); err != nil || string(data) != string(msg) {
					b.Fatalf("Read = %q, %v", data, err)
				}
			}
			b.StopTimer()
			c.mu.Lock()
			resumes := c.resumes - before
			c.mu.Unlock()
			// Below 1 on poll: a cut that finds no poll in flight only costs the next
			// request a fresh connection, and the session needs no resume.
			b.ReportMetric(float64(resumes)/float64(b.N), "resumes/op")
		})
	}
}
