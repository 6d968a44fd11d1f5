package leakcheck_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/polysock/polysock/internal/leakcheck"
)

// fakeT records what Register does with a test.
type fakeT struct {
	cleanups []func()
	errors   []string
}

func (f *fakeT) Helper()           {}
func (f *fakeT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeT) finish() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func TestRegister(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)

	var leaky fakeT
	leakcheck.Register(&leaky, 100*time.Millisecond)
	go func() { <-stop }() // still running when the check runs
	leaky.finish()
	if len(leaky.errors) != 1 {
		t.Fatalf("a goroutine left running: %d errors, want 1", len(leaky.errors))
	}

	var clean fakeT
	leakcheck.Register(&clean, 5*time.Second)
	done := make(chan struct{})
	go func() { <-done }()
	go func() { time.Sleep(20 * time.Millisecond); close(done) }() // both end within the bound
	clean.finish()
	if len(clean.errors) != 0 {
		t.Fatalf("goroutines that ended within the bound: %v", clean.errors)
	}
}
