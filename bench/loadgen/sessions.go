package loadgen

import (
	"context"
	"sync"
	"time"
)

// Storm is the outcome of OpenSessions.
type Storm struct {
	Opened   []Conn        // the sessions that opened; the caller closes them
	Failures int           // dials that failed
	FirstErr error         // the first failure, if any
	Elapsed  time.Duration // from the first dial to the last one's end
}

// Rate is opened sessions per second.
func (s Storm) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(len(s.Opened)) / s.Elapsed.Seconds()
}

// OpenSessions opens n sessions with f against base, at most inFlight at a time, and
// returns those that opened (each past its protocol's handshake) with the failures.
func OpenSessions(ctx context.Context, f Framer, base string, n, inFlight int) Storm {
	var (
		mu sync.Mutex
		st Storm
		wg sync.WaitGroup
	)
	sem := make(chan struct{}, inFlight)
	start := time.Now()
	for range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := f.Dial(ctx, base)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				st.Failures++
				if st.FirstErr == nil {
					st.FirstErr = err
				}
				return
			}
			st.Opened = append(st.Opened, c)
		}()
	}
	wg.Wait()
	st.Elapsed = time.Since(start)
	return st
}

// CloseAll closes conns, at most 64 at a time.
func CloseAll(conns []Conn) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range conns {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = c.Close()
		}()
	}
	wg.Wait()
}
