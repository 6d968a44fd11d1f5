package client

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/server"
)

// Background upgrade to WebSocket and its hold after early deaths (upgrade.go).

func isProbe(r *http.Request) bool {
	return isUpgrade(r) && r.URL.Query().Get(wire.ParamSession) != ""
}

// waitFor polls cond until it holds; the hang guard only catches a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx := testCtx(t)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// upgradeState reports the probes started, the holds begun, the probes started when the
// last hold began and whether the session has a carrier.
func (c *Conn) upgradeState() (probes, holds, holdProbes int, onCarrier bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.probes, c.holds, c.holdProbes, c.car != nil
}

// probeFront serves the real echo server behind handle, which gets the request and the
// server, and returns the endpoint URL.
func probeFront(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, srv http.Handler)) string {
	srv := server.New(echo, nil)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, srv)
	}))
	t.Cleanup(func() {
		srv.Shutdown(testCtx(t))
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/rt"
}

// A session that had to start on stream because a proxy refused the first upgrades moves
// onto WebSocket by itself, with the traffic that flows meanwhile intact.
func TestUpgradeMovesToWebSocket(t *testing.T) {
	const refused = 2 // the dial's upgrade and the first probe
	var upgrades atomic.Int64
	url, _ := blockingFront(t, func(w http.ResponseWriter, r *http.Request) bool {
		if isUpgrade(r) && upgrades.Add(1) <= refused {
			http.Error(w, "blocked by proxy", http.StatusBadGateway)
			return true
		}
		return false
	})
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	var mu sync.Mutex
	var changes []string
	moved := make(chan struct{})
	conn := dial(t, url, &Options{HTTPClient: hc, AttemptTimeout: 2 * time.Second,
		OnTransportChange: func(old, new string) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, old+"→"+new)
			if new == wire.TransportWebSocket && len(changes) == 1 {
				close(moved)
			}
		}})
	if got := conn.Transport(); got != wire.TransportStream {
		t.Fatalf("Transport() = %q after dial, want stream", got)
	}

	// Echo traffic before, during and after the move: the writer paces its messages
	// until the move and sends 200 more after it.
	ctx := testCtx(t)
	total := make(chan int, 1)
	errc := make(chan error, 1)
	go func() {
		after := -1
		for i := 0; ; i++ {
			if after < 0 {
				select {
				case <-moved:
					after = i + 200
				default:
				}
			}
			if i == after || i == 50000 {
				total <- i
				errc <- nil
				return
			}
			if err := conn.Write(ctx, polysock.Text, []byte(fmt.Sprint("m", i))); err != nil {
				total <- i
				errc <- err
				return
			}
			if after < 0 {
				time.Sleep(2 * time.Millisecond) // pacing only
			}
		}
	}()
	n := -1
	for i := 0; n < 0 || i < n; i++ {
		if n < 0 {
			select {
			case n = <-total:
				if err := <-errc; err != nil {
					t.Fatalf("Write: %v", err)
				}
				if i >= n {
					break
				}
			default:
			}
		}
		typ, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		if want := fmt.Sprint("m", i); typ != polysock.Text || string(data) != want {
			t.Fatalf("message %d: got %q, want %q", i, data, want)
		}
	}
	select {
	case <-moved:
	default:
		t.Fatal("the session never moved to websocket")
	}
	if got := conn.Transport(); got != wire.TransportWebSocket {
		t.Errorf("Transport() = %q after the move, want websocket", got)
	}
	mu.Lock()
	got := fmt.Sprint(changes)
	mu.Unlock()
	if got != "[stream→websocket]" {
		t.Errorf("OnTransportChange reported %s, want [stream→websocket]", got)
	}
	if p, _, _, _ := conn.upgradeState(); p != refused {
		t.Errorf("%d probes, want %d", p, refused)
	}
	roundTrip(t, conn, []message{{polysock.Binary, []byte("after the move")}})
}

// hijackKiller closes every hijacked connection shortly after the WebSocket handshake.
type hijackKiller struct {
	http.ResponseWriter
	wg *sync.WaitGroup
}

func (k hijackKiller) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := k.ResponseWriter.(http.Hijacker).Hijack()
	if err == nil {
		k.wg.Add(1)
		time.AfterFunc(50*time.Millisecond, func() {
			defer k.wg.Done()
			c.Close()
		})
	}
	return c, rw, err
}

// WebSockets that never work (refused, or accepted then killed at once) leave the session
// on stream: probing stops after two early deaths in a row, and starts again after
// Options.UpgradeHold.
func TestUpgradeHoldAfterEarlyDeaths(t *testing.T) {
	for _, kill := range []bool{false, true} {
		for _, hold := range []time.Duration{time.Hour, 100 * time.Millisecond} {
			t.Run(fmt.Sprintf("killed=%v/hold=%v", kill, hold), func(t *testing.T) {
				var probes atomic.Int64
				var wg sync.WaitGroup
				t.Cleanup(wg.Wait)
				url := probeFront(t, func(w http.ResponseWriter, r *http.Request, srv http.Handler) {
					switch {
					case !isUpgrade(r):
					case !isProbe(r) || !kill:
						if isProbe(r) {
							probes.Add(1)
						}
						// The dial's upgrade is refused so that the session starts on stream.
						http.Error(w, "blocked by proxy", http.StatusBadGateway)
						return
					default:
						// Accepted by the server, then killed.
						probes.Add(1)
						w = hijackKiller{ResponseWriter: w, wg: &wg}
					}
					srv.ServeHTTP(w, r)
				})
				hc := &http.Client{Transport: &http.Transport{}}
				t.Cleanup(hc.CloseIdleConnections)
				var moves atomic.Int64
				conn := dial(t, url, &Options{HTTPClient: hc, UpgradeHold: hold, AttemptTimeout: 2 * time.Second,
					OnTransportChange: func(old, new string) { moves.Add(1) }})
				if got := conn.Transport(); got != wire.TransportStream {
					t.Fatalf("Transport() = %q after dial, want stream", got)
				}
				wantHolds := 1
				if hold < time.Minute {
					wantHolds = 2 // it probed again after the hold
				}
				var h, hp int
				waitFor(t, "the hold", func() bool {
					var on bool
					_, h, hp, on = conn.upgradeState()
					return h >= wantHolds && on && conn.Transport() == wire.TransportStream
				})
				if hp != 2*h {
					t.Errorf("%d probes when hold %d began, want %d", hp, h, 2*h)
				}
				if hold > time.Minute {
					roundTrip(t, conn, []message{{polysock.Text, []byte("still on stream")}})
					if p, _, _, _ := conn.upgradeState(); p != 2 {
						t.Errorf("%d probes during the hold, want 2", p)
					}
					if got := probes.Load(); got != 2 {
						t.Errorf("%d probes reached the front, want 2", got)
					}
				} else {
					roundTrip(t, conn, []message{{polysock.Text, []byte("on stream")}})
				}
				if got := conn.Transport(); got != wire.TransportStream {
					t.Errorf("Transport() = %q, want stream", got)
				}
				t.Logf("%d probes reached the front, %d transport changes", probes.Load(), moves.Load())
			})
		}
	}
}
