package client

import (
	"fmt"
	"testing"

	"github.com/polysock/polysock"
)

// BenchmarkEcho measures messages echoed through the real server on loopback, with up to
// 256 in flight so that Write and the server coalesce them into batches. (The window also
// keeps the server's outbox, whose Write does not block, under its bound.)
func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{16, 4096} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			c := dial(b, startServer(b, echo, nil), nil)
			ctx := testCtx(b)
			msg := make([]byte, size)
			window := make(chan struct{}, 256)
			b.SetBytes(int64(size))
			b.ResetTimer()
			errs := make(chan error, 1)
			go func() {
				for range b.N {
					if _, _, err := c.Read(ctx); err != nil {
						errs <- err
						return
					}
					<-window
				}
				errs <- nil
			}()
			for range b.N {
				window <- struct{}{}
				if err := c.Write(ctx, polysock.Binary, msg); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		})
	}
}
