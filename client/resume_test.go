package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/server"
)

// Resume tests: real server, real client, the fault proxy between them.

// faultSeed is the seed of the fault proxies: 1, or POLYSOCK_FAULT_SEED (a number, or
// "random" for a new one each run). Every test logs the seed it used.
func faultSeed(t testing.TB) uint64 {
	seed := uint64(1)
	switch v := os.Getenv("POLYSOCK_FAULT_SEED"); v {
	case "":
	case "random":
		seed = uint64(time.Now().UnixNano())
	default:
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("POLYSOCK_FAULT_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("fault seed %d (set POLYSOCK_FAULT_SEED to change it)", seed)
	return seed
}

// resumeServerOptions are short timings, so that liveness and recycling take part.
func resumeServerOptions() *server.Options {
	return &server.Options{
		PingInterval:   250 * time.Millisecond,
		IdleTimeout:    3 * time.Second,
		ResumeWindow:   10 * time.Second,
		PollHold:       time.Second,
		StreamMaxBytes: 16 << 10,
	}
}

// resumeRig is a real server behind a fault proxy, and the client options to reach it.
type resumeRig struct {
	proxy *faultProxy
	hc    *http.Client
}

func newResumeRig(t testing.TB, handler func(*server.Session), sopts *server.Options, seed uint64, fc faultConfig) *resumeRig {
	srv := server.New(handler, sopts)
	hs := httptest.NewServer(srv)
	tr := &http.Transport{}
	t.Cleanup(func() {
		if err := srv.Shutdown(testCtx(t)); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
		tr.CloseIdleConnections()
	})
	return &resumeRig{proxy: newFaultProxy(t, hs.URL, seed, fc), hc: &http.Client{Transport: tr}}
}

// options are client options through the proxy, starting on transport, with quick
// reconnects.
func (r *resumeRig) options(transport string) *Options {
	return &Options{
		Transports:        []string{transport},
		HTTPClient:        r.hc,
		ReconnectMin:      time.Millisecond,
		ReconnectMax:      20 * time.Millisecond,
		ReconnectAttempts: 100,
		LivenessGrace:     time.Second,
	}
}

// resumeMsg is message i of a direction: its number, then 0–99 bytes of filler, so that
// cuts fall anywhere in frames of many sizes.
func resumeMsg(prefix string, i int) []byte {
	b := fmt.Appendf(nil, "%s%d:", prefix, i)
	for range (i * 7919) % 100 {
		b = append(b, 'x')
	}
	return b
}

// faultRun is one exchange of n messages each way through a hostile proxy, optionally
// moving the session between transports as it goes.
type faultRun struct {
	start    string   // first transport
	switches []string // transports to switch to in turn, spread over the run; nil for none
	n        int
	faults   faultConfig
}

// defaultFaults: connections are cut after 16–160 KiB, above the client's batches (the
// server takes in a batch only when it has it whole: a network that cuts every
// connection before one batch passes would stop any session).
var defaultFaults = faultConfig{CutMin: 16 << 10, CutMax: 160 << 10, PollDrop: 0.1, PostDup: 0.15, PostDelay: 0.15}

// paceWindow: each side writes message i only once it has read message i-paceWindow
// from the other, so that the exchange takes many round trips (many polls and POSTs,
// each exposed to the faults) instead of one burst.
const paceWindow = 100

func (fr faultRun) run(t *testing.T) {
	seed := faultSeed(t)
	n := fr.n
	serverDone := make(chan error, 1)
	rig := newResumeRig(t, func(s *server.Session) {
		ctx := context.Background()
		read := make(chan struct{}, n)
		go func() {
			for i := range n {
				if i >= paceWindow {
					select {
					case <-read:
					case <-s.Context().Done():
						return
					}
				}
				if s.Write(ctx, polysock.Binary, resumeMsg("s", i)) != nil {
					return
				}
			}
		}()
		for i := range n {
			_, data, err := s.Read(ctx)
			read <- struct{}{}
			if err != nil {
				serverDone <- fmt.Errorf("server Read %d: %w", i, err)
				return
			}
			if want := resumeMsg("c", i); string(data) != string(want) {
				serverDone <- fmt.Errorf("server got %.20q as message %d, want %.20q", data, i, want)
				return
			}
		}
		serverDone <- nil
		_, _, err := s.Read(ctx) // until the client closes
		var ce *polysock.CloseError
		if !errors.As(err, &ce) || ce.Code != polysock.CloseNormal || !ce.WasClean {
			t.Errorf("server session ended with %v, want a clean 1000", err)
		}
	}, resumeServerOptions(), seed, fr.faults)

	var changes atomic.Int64
	opts := rig.options(fr.start)
	opts.OnTransportChange = func(old, new string) { changes.Add(1) }
	if os.Getenv("POLYSOCK_DEBUG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c := dial(t, rig.proxy.url(), opts)
	ctx := testCtx(t)
	rig.proxy.Enable()

	// Forced switches run apart from the reader: the Conn's reader may wait for ours.
	switchAt := make(chan int, len(fr.switches))
	var wg sync.WaitGroup
	switched := 0
	wg.Go(func() {
		for i := range switchAt {
			to := fr.switches[i]
			if err := c.SwitchTransport(ctx, to); err != nil {
				t.Errorf("switch %d to %s: %v", i, to, err)
				return
			}
			if got := c.Transport(); got != to {
				t.Errorf("after switch %d Transport() = %q, want %q", i, got, to)
			}
			switched++
		}
	})
	writeErr := make(chan error, 1)
	read := make(chan struct{}, n)
	go func() {
		for i := range n {
			if i >= paceWindow {
				select {
				case <-read:
				case <-ctx.Done():
					writeErr <- ctx.Err()
					return
				}
			}
			if err := c.Write(ctx, polysock.Text, resumeMsg("c", i)); err != nil {
				writeErr <- fmt.Errorf("client Write %d: %w", i, err)
				return
			}
		}
		writeErr <- nil
	}()
	next := 0
	for i := range n {
		if next < len(fr.switches) && i == (next+1)*n/(len(fr.switches)+1) {
			switchAt <- next
			next++
		}
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("client Read %d: %v", i, err)
		}
		read <- struct{}{}
		if want := resumeMsg("s", i); string(data) != string(want) {
			t.Fatalf("client got %.20q as message %d, want %.20q", data, i, want)
		}
	}
	close(switchAt)
	wg.Wait()
	for _, ch := range []chan error{writeErr, serverDone} {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatal("hang guard: the exchange did not finish")
		}
	}
	rig.proxy.Quiesce()
	if err := c.Close(1000, ""); err != nil {
		t.Errorf("Close = %v, want a clean close", err)
	}

	p := rig.proxy
	c.mu.Lock()
	resumes := c.resumes
	c.mu.Unlock()
	t.Logf("%d messages each way: %d resumes, %d transport changes; proxy: %d cuts, %d poll answers dropped, %d POSTs duplicated, %d POSTs delayed (%d delivered late)",
		n, resumes, changes.Load(), p.cuts.Load(), p.pollDrops.Load(), p.postDups.Load(), p.postDelays.Load(), p.staleDelivered.Load())
	// The faults must have happened, or the test proved nothing.
	if p.cuts.Load() == 0 || resumes == 0 {
		t.Errorf("no connection was cut (%d) or no resume happened (%d)", p.cuts.Load(), resumes)
	}
	uses := func(tr string) bool {
		if fr.start == tr {
			return true
		}
		for _, s := range fr.switches {
			if s == tr {
				return true
			}
		}
		return false
	}
	if uses(wire.TransportPoll) && fr.faults.PollDrop > 0 && p.pollDrops.Load() == 0 {
		t.Error("no poll answer was dropped")
	}
	if (uses(wire.TransportPoll) || uses(wire.TransportStream)) && fr.faults.PostDup > 0 && (p.postDups.Load() == 0 || p.staleDelivered.Load() == 0) {
		t.Error("no POST was duplicated or delivered late")
	}
	if switched != len(fr.switches) || changes.Load() < int64(len(fr.switches)) {
		t.Errorf("%d of %d switches made, %d transport changes reported", switched, len(fr.switches), changes.Load())
	}
}

// TestResumeUnderFaults: 10,000 messages each way through random cuts (mid-frame, both
// directions), dropped poll answers, duplicated and late POSTs, on each transport and
// across forced switches between every two transports; every message arrives exactly
// once and in order, and the session closes cleanly.
func TestResumeUnderFaults(t *testing.T) {
	const n = 10_000
	ws, st, po := wire.TransportWebSocket, wire.TransportStream, wire.TransportPoll
	for _, tr := range []string{ws, st, po} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			faultRun{start: tr, n: n, faults: defaultFaults}.run(t)
		})
	}
	for _, pair := range [][2]string{{ws, st}, {ws, po}, {st, ws}, {st, po}, {po, ws}, {po, st}} {
		t.Run(pair[0]+"-to-"+pair[1], func(t *testing.T) {
			t.Parallel()
			// a→b three times (and b→a between).
			faultRun{start: pair[0], n: n, faults: defaultFaults,
				switches: []string{pair[1], pair[0], pair[1], pair[0], pair[1]}}.run(t)
		})
	}
}

// TestSwitchTour moves one live session websocket→stream→poll→websocket→poll→stream→
// websocket (every switch between two transports) on a clean network, with traffic
// flowing, and checks the order of the OnTransportChange reports.
func TestSwitchTour(t *testing.T) {
	tour := []string{wire.TransportStream, wire.TransportPoll, wire.TransportWebSocket,
		wire.TransportPoll, wire.TransportStream, wire.TransportWebSocket}
	rig := newResumeRig(t, echo, resumeServerOptions(), 0, faultConfig{})
	var mu sync.Mutex
	var got []string
	opts := rig.options(wire.TransportWebSocket)
	opts.OnTransportChange = func(old, new string) {
		mu.Lock()
		got = append(got, old+">"+new)
		mu.Unlock()
	}
	c := dial(t, rig.proxy.url(), opts)
	ctx := testCtx(t)
	var want []string
	prev := wire.TransportWebSocket
	for i, to := range tour {
		for j := range 50 {
			if err := c.Write(ctx, polysock.Text, resumeMsg("m", i*50+j)); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.SwitchTransport(ctx, to); err != nil {
			t.Fatalf("switch to %s: %v", to, err)
		}
		for j := range 50 {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if w := resumeMsg("m", i*50+j); string(data) != string(w) {
				t.Fatalf("got %.20q, want %.20q", data, w)
			}
		}
		want = append(want, prev+">"+to)
		prev = to
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("OnTransportChange reported %v, want %v", got, want)
	}
}

// TestResumeWindowExpiry: the client cannot reach the server for longer than the resume
// window; the server ends the session with 4006 for the application, and the client's
// resume, once it gets through, is answered 4004, which ends the Conn: never a silent
// gap.
func TestResumeWindowExpiry(t *testing.T) {
	for _, tr := range conformanceTransports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			ended := make(chan error, 1)
			sopts := resumeServerOptions()
			sopts.ResumeWindow = 200 * time.Millisecond
			rig := newResumeRig(t, func(s *server.Session) {
				ctx := context.Background()
				s.Write(ctx, polysock.Text, []byte("ready"))
				for {
					if _, _, err := s.Read(ctx); err != nil {
						ended <- err
						return
					}
				}
			}, sopts, 0, faultConfig{})
			opts := rig.options(tr)
			opts.ReconnectMin, opts.ReconnectMax = 10*time.Millisecond, 50*time.Millisecond
			c := dial(t, rig.proxy.url(), opts)
			if _, s := readMsg(t, c); s != "ready" {
				t.Fatalf("got %q", s)
			}
			rig.proxy.RefuseFor(time.Second)
			rig.proxy.CutAll()
			var ce *polysock.CloseError
			select {
			case err := <-ended:
				if !errors.As(err, &ce) || ce.Code != polysock.CloseResumeExpired {
					t.Errorf("server session ended with %v, want 4006", err)
				}
			case <-testCtx(t).Done():
				t.Fatal("hang guard: the server never expired the session")
			}
			if ce := readEnd(t, c); ce.Code != polysock.CloseUnknownSession || ce.WasClean {
				t.Errorf("client session ended with %+v, want 4004", ce)
			}
			if err := c.Write(testCtx(t), polysock.Text, []byte("late")); polysock.CloseStatus(err) != polysock.CloseUnknownSession {
				t.Errorf("Write after the end = %v, want the 4004 CloseError", err)
			}
			if rig.proxy.refused.Load() == 0 {
				t.Error("the proxy refused no connection: the outage did not happen")
			}
		})
	}
}

// TestWritesWhileAway: messages written while the client cannot reach the server are
// queued and delivered, in order, once it resumes.
func TestWritesWhileAway(t *testing.T) {
	for _, tr := range conformanceTransports {
		t.Run(tr, func(t *testing.T) {
			rig := newResumeRig(t, echo, resumeServerOptions(), 0, faultConfig{})
			opts := rig.options(tr)
			opts.ReconnectMin, opts.ReconnectMax = 10*time.Millisecond, 50*time.Millisecond
			c := dial(t, rig.proxy.url(), opts)
			ctx := testCtx(t)
			rig.proxy.RefuseFor(300 * time.Millisecond)
			rig.proxy.CutAll()
			for i := range 100 {
				if err := c.Write(ctx, polysock.Text, resumeMsg("w", i)); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 100 {
				_, data, err := c.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if w := resumeMsg("w", i); string(data) != string(w) {
					t.Fatalf("got %.20q, want %.20q", data, w)
				}
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.resumes == 0 || rig.proxy.refused.Load() == 0 {
				t.Errorf("resumes %d, refused connections %d: the outage did not happen", c.resumes, rig.proxy.refused.Load())
			}
		})
	}
}
