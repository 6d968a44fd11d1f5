package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/polysock/polysock/bench/loadgen"
)

// metric is one figure a scenario reports per target.
type metric struct {
	name   string // column name, e.g. "msgs/s"
	higher bool   // higher is better (ratios >1 favour the target)
}

// scenario is one measurement, run in rounds on every target it applies to.
type scenario struct {
	name    string
	what    string
	metrics []metric
	// na returns why the scenario does not apply to target, or "".
	na  func(target string) string
	run func(ctx context.Context, f loadgen.Framer, srv *serverProc, cfg *config) (map[string]float64, error)
}

// config holds the sizes and durations of a run (full or quick).
type config struct {
	duration                 time.Duration // closed-loop and open-loop measurement time
	conns                    int           // echo connections
	rate                     float64       // open-loop total rate, msgs/s
	fanoutMsgs               int           // messages broadcast in the fan-out scenarios
	fanoutSmall, fanoutLarge int
	pushMsgs                 int
	inFlight                 int // dials in flight
}

func fullConfig() *config {
	return &config{duration: 1500 * time.Millisecond, conns: 50, rate: 2000, fanoutMsgs: 10,
		fanoutSmall: 1000, fanoutLarge: 10000, pushMsgs: 20000, inFlight: 100}
}

func quickConfig() *config {
	return &config{duration: 300 * time.Millisecond, conns: 50, rate: 1000, fanoutMsgs: 5,
		fanoutSmall: 200, fanoutLarge: 1000, pushMsgs: 3000, inFlight: 50}
}

func isWebSocket(target string) bool { return strings.HasSuffix(target, "/websocket") }

func all(string) string { return "" }

func scenarios(cfg *config) []scenario {
	return []scenario{
		{
			name:    "echo-64",
			what:    fmt.Sprintf("closed-loop echo, %d connections, one 64 B message in flight each", cfg.conns),
			metrics: []metric{{"msgs/s", true}, {"p99 µs", false}},
			na:      all,
			run:     echo(64, 1),
		},
		{
			name:    "echo-1k",
			what:    fmt.Sprintf("closed-loop echo, %d connections, one 1 KiB message in flight each", cfg.conns),
			metrics: []metric{{"msgs/s", true}, {"p99 µs", false}},
			na:      all,
			run:     echo(1024, 1),
		},
		{
			name:    "burst-8",
			what:    fmt.Sprintf("closed-loop echo, %d connections, bursts of 8 × 64 B (one Send of 8) then 8 echoes", cfg.conns),
			metrics: []metric{{"msgs/s", true}, {"p99 µs", false}},
			na:      all,
			run:     echo(64, 8),
		},
		{
			name:    "latency-1",
			what:    "one connection, one 64 B message in flight: round-trip time",
			metrics: []metric{{"msgs/s", true}, {"p50 µs", false}, {"p99 µs", false}},
			na:      all,
			run:     single,
		},
		{
			name:    "open-loop",
			what:    fmt.Sprintf("open loop, %d connections, %.0f msgs/s of 64 B in total, latency corrected for coordinated omission", cfg.conns, cfg.rate),
			metrics: []metric{{"p50 µs", false}, {"p99 µs", false}, {"p99.9 µs", false}, {"skipped", false}},
			na:      all,
			run:     openLoop,
		},
		{
			name: "fanout-1k",
			what: fmt.Sprintf("%d sessions opened (%d dials in flight), then %d broadcasts of 64 B to all of them",
				cfg.fanoutSmall, cfg.inFlight, cfg.fanoutMsgs),
			metrics: []metric{{"sessions/s", true}, {"deliveries/s", true}, {"p99 µs", false}},
			na:      all,
			run:     fanout(cfg.fanoutSmall, false),
		},
		{
			name: "sessions-10k",
			what: fmt.Sprintf("%d idle sessions opened (%d dials in flight): connect rate, server memory per session, then %d broadcasts of 64 B to all",
				cfg.fanoutLarge, cfg.inFlight, cfg.fanoutMsgs),
			metrics: []metric{{"sessions/s", true}, {"failures", false}, {"heap+stack B/session", false}, {"RSS B/session", false}, {"deliveries/s", true}, {"p99 µs", false}},
			na: func(t string) string {
				if !isWebSocket(t) {
					return "HTTP transport: 10,000 sessions hold about 20,000 connections per side, the per-process descriptor limit here (20,000)"

				}
				return ""
			},
			run: fanout(cfg.fanoutLarge, true),
		},
		{
			name:    "push",
			what:    fmt.Sprintf("one session, the server broadcasts %d × 64 B as fast as it can: delivery rate", cfg.pushMsgs),
			metrics: []metric{{"msgs/s", true}, {"p99 µs", false}},
			na:      all,
			run:     push,
		},
	}
}

func dial(ctx context.Context, f loadgen.Framer, base string, n, inFlight int) ([]loadgen.Conn, error) {
	st := loadgen.OpenSessions(ctx, f, base, n, inFlight)
	if st.Failures > 0 {
		loadgen.CloseAll(st.Opened)
		return nil, fmt.Errorf("%d of %d sessions failed to open: %w", st.Failures, n, st.FirstErr)
	}
	return st.Opened, nil
}

func pct(r loadgen.Result, q float64) float64 { return float64(r.Latency.ValueAtQuantile(q)) }

func echo(size, burst int) func(context.Context, loadgen.Framer, *serverProc, *config) (map[string]float64, error) {
	return func(ctx context.Context, f loadgen.Framer, srv *serverProc, cfg *config) (map[string]float64, error) {
		conns, err := dial(ctx, f, srv.base, cfg.conns, cfg.inFlight)
		if err != nil {
			return nil, err
		}
		defer loadgen.CloseAll(conns)
		r, err := loadgen.ClosedLoop(ctx, conns, size, burst, cfg.duration)
		if err != nil {
			return nil, err
		}
		return map[string]float64{"msgs/s": r.Rate(), "p99 µs": pct(r, 99)}, nil
	}
}

func single(ctx context.Context, f loadgen.Framer, srv *serverProc, cfg *config) (map[string]float64, error) {
	conns, err := dial(ctx, f, srv.base, 1, 1)
	if err != nil {
		return nil, err
	}
	defer loadgen.CloseAll(conns)
	r, err := loadgen.ClosedLoop(ctx, conns, 64, 1, cfg.duration)
	if err != nil {
		return nil, err
	}
	return map[string]float64{"msgs/s": r.Rate(), "p50 µs": pct(r, 50), "p99 µs": pct(r, 99)}, nil
}

func openLoop(ctx context.Context, f loadgen.Framer, srv *serverProc, cfg *config) (map[string]float64, error) {
	conns, err := dial(ctx, f, srv.base, cfg.conns, cfg.inFlight)
	if err != nil {
		return nil, err
	}
	defer loadgen.CloseAll(conns)
	r, err := loadgen.OpenLoop(ctx, conns, 64, cfg.rate, cfg.duration, 10*time.Second)
	if err != nil {
		return nil, err
	}
	return map[string]float64{"p50 µs": pct(r, 50), "p99 µs": pct(r, 99), "p99.9 µs": pct(r, 99.9), "skipped": r.Extra["skipped"]}, nil
}

func fanout(n int, memory bool) func(context.Context, loadgen.Framer, *serverProc, *config) (map[string]float64, error) {
	return func(ctx context.Context, f loadgen.Framer, srv *serverProc, cfg *config) (map[string]float64, error) {
		out := map[string]float64{}
		var before loadgen.Mem
		if memory {
			var err error
			if before, err = loadgen.ServerMem(ctx, srv.base); err != nil {
				return nil, err
			}
		}
		st := loadgen.OpenSessions(ctx, f, srv.base, n, cfg.inFlight)
		defer loadgen.CloseAll(st.Opened)
		out["sessions/s"] = st.Rate()
		out["failures"] = float64(st.Failures)
		if st.Failures > 0 && !memory {
			return nil, fmt.Errorf("%d of %d sessions failed to open: %w", st.Failures, n, st.FirstErr)
		}
		if len(st.Opened) == 0 {
			return nil, fmt.Errorf("no session opened: %w", st.FirstErr)
		}
		after, err := loadgen.AwaitSessions(ctx, srv.base, len(st.Opened), 30*time.Second)
		if err != nil {
			return nil, err
		}
		if memory {
			k := float64(len(st.Opened))
			out["heap+stack B/session"] = (after.HeapInuse + after.StackInuse - before.HeapInuse - before.StackInuse) / k
			out["RSS B/session"] = (after.RSS - before.RSS) / k
		}
		r, err := loadgen.Fanout(ctx, st.Opened, cfg.fanoutMsgs, 64, func(ctx context.Context) error {
			return loadgen.Publish(ctx, srv.base, cfg.fanoutMsgs, 64)
		})
		if err != nil {
			return nil, err
		}
		out["deliveries/s"] = r.Rate()
		out["p99 µs"] = pct(r, 99)
		return out, nil
	}
}

func push(ctx context.Context, f loadgen.Framer, srv *serverProc, cfg *config) (map[string]float64, error) {
	conns, err := dial(ctx, f, srv.base, 1, 1)
	if err != nil {
		return nil, err
	}
	defer loadgen.CloseAll(conns)
	if _, err := loadgen.AwaitSessions(ctx, srv.base, 1, 30*time.Second); err != nil {
		return nil, err
	}
	r, err := loadgen.Fanout(ctx, conns, cfg.pushMsgs, 64, func(ctx context.Context) error {
		return loadgen.Publish(ctx, srv.base, cfg.pushMsgs, 64)
	})
	if err != nil {
		return nil, err
	}
	return map[string]float64{"msgs/s": r.Rate(), "p99 µs": pct(r, 99)}, nil
}
