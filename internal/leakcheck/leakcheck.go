// Package leakcheck makes a test fail when goroutines it started are still running once
// it is over. It is for tests only.
package leakcheck

import (
	"time"

	"go.uber.org/goleak"
)

// T is the part of testing.TB that Register uses.
type T interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
}

// Register notes the goroutines running now and registers a cleanup that fails t if any
// other goroutine is still running after the test and its later-registered cleanups,
// waiting up to within for goroutines that are winding down. Call it before starting
// servers, so that their cleanups run first.
func Register(t T, within time.Duration) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		deadline := time.Now().Add(within)
		for {
			err := goleak.Find(ignore)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines left after the test: %v", err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
