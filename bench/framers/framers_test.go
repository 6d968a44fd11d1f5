package framers

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polysock/polysock/bench/loadgen"
	"github.com/polysock/polysock/bench/servers"
)

// startServer serves the kind of framer f on 127.0.0.1 and returns its base URL: the Go
// kinds in this process, socket.io as the Node program (node_modules must hold socket.io:
// `npm ci`).
func startServer(t *testing.T, f loadgen.Framer) string {
	t.Helper()
	kind := Server(f.Name())
	if kind == "socketio" {
		return startNode(t)
	}
	h, stop, err := servers.New(kind)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		stop()
	})
	return srv.URL
}

func startNode(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "socket.io")); err != nil {
		t.Fatalf("socket.io is not installed in node_modules (run npm ci --no-audit --no-fund): %v", err)
	}
	cmd := exec.Command("node", "bench/socketio/server.mjs")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	base, err := servers.StartProcess(cmd, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return base
}

func dialN(t *testing.T, ctx context.Context, f loadgen.Framer, base string, n int) []loadgen.Conn {
	t.Helper()
	st := loadgen.OpenSessions(ctx, f, base, n, n)
	t.Cleanup(func() { loadgen.CloseAll(st.Opened) })
	if st.Failures > 0 {
		t.Fatalf("%d of %d dials failed: %v", st.Failures, n, st.FirstErr)
	}
	return st.Opened
}

// TestFramers drives every target's real server on loopback with the closed-loop and
// open-loop echo and a broadcast, each verified by loadgen (count, order, content).
func TestFramers(t *testing.T) {
	for _, f := range All() {
		t.Run(f.Name(), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // hang guard
			defer cancel()
			base := startServer(t, f)
			conns := dialN(t, ctx, f, base, 3)
			res, err := loadgen.ClosedLoop(ctx, conns, 200, 4, 50*time.Millisecond)
			if err != nil {
				t.Fatalf("closed loop: %v", err)
			}
			if res.Msgs < 12 || res.Msgs%4 != 0 || res.Latency.TotalCount() != res.Msgs {
				t.Fatalf("closed loop: %d messages, %d latencies; want a positive multiple of 4 bursts on 3 connections", res.Msgs, res.Latency.TotalCount())
			}
			conns = dialN(t, ctx, f, base, 2)
			res, err = loadgen.OpenLoop(ctx, conns, 64, 200, 100*time.Millisecond, 20*time.Second)
			if err != nil {
				t.Fatalf("open loop: %v", err)
			}
			if res.Msgs == 0 {
				t.Fatal("open loop: no message")
			}
			// Every connection opened so far receives the broadcast.
			subs := dialN(t, ctx, f, base, 3)
			if _, err := loadgen.AwaitSessions(ctx, base, 8, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			res, err = loadgen.Fanout(ctx, subs, 7, 100, func(ctx context.Context) error {
				return loadgen.Publish(ctx, base, 7, 100)
			})
			if err != nil {
				t.Fatalf("fan-out: %v", err)
			}
			if res.Msgs != 21 {
				t.Fatalf("fan-out: %d deliveries, want 21", res.Msgs)
			}
		})
	}
}

// faulty wraps a real connection and drops or swaps what it receives.
type faulty struct {
	loadgen.Conn
	mode string // "drop": lose the 3rd message; "swap": deliver the 2nd and 3rd reversed
	mu   sync.Mutex
	n    int
	held []byte
}

func (f *faulty) Recv(ctx context.Context) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		b, err := f.Conn.Recv(ctx)
		if err != nil {
			return nil, err
		}
		f.n++
		switch {
		case f.mode == "drop" && f.n == 3:
			continue
		case f.mode == "swap" && f.n == 2:
			f.held = b
			continue
		case f.mode == "swap" && f.n == 3:
			return b, nil // the 3rd before the 2nd
		case f.held != nil:
			held := f.held
			f.held = nil
			_ = held
			return held, nil
		}
		return b, nil
	}
}

// TestIntegrityCatchesFaults shows that the drivers notice a lost or reordered message
// coming from a real server.
func TestIntegrityCatchesFaults(t *testing.T) {
	for _, mode := range []string{"drop", "swap"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // hang guard
			defer cancel()
			base := startServer(t, Raw{})
			conns := dialN(t, ctx, Raw{}, base, 1)
			conns[0] = &faulty{Conn: conns[0], mode: mode}
			_, err := loadgen.ClosedLoop(ctx, conns, 64, 4, time.Second)
			if err == nil || !strings.Contains(err.Error(), "out of order or lost") {
				t.Fatalf("closed loop over a connection that %ss: err = %v, want out of order or lost", mode, err)
			}
			base = startServer(t, Raw{}) // a server of its own: the failed loop's connection is gone
			subs := dialN(t, ctx, Raw{}, base, 1)
			if _, err := loadgen.AwaitSessions(ctx, base, 1, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			subs[0] = &faulty{Conn: subs[0], mode: mode}
			_, err = loadgen.Fanout(ctx, subs, 5, 64, func(ctx context.Context) error { return loadgen.Publish(ctx, base, 5, 64) })
			if err == nil || !strings.Contains(err.Error(), "out of order or lost") {
				t.Fatalf("fan-out over a connection that %ss: err = %v, want out of order or lost", mode, err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("hang guard hit")
			}
		})
	}
}
