// Command memdriver measures the server memory held by idle sessions. For each mode
// (polysock, raw: WebSocket sessions; stream, poll: polysock sessions holding a stream
// GET or a long poll, see http.go) it starts bench/cmd/memserver in its own process, reads the
// server's memory (GET /mem, after a GC), opens -n WebSocket sessions over loopback,
// waits until the server holds them all and is quiet, reads the memory again and prints
// the difference per session. The polysock sessions are opened by a minimal gorilla
// dialer that speaks ps_v=1 and reads OPEN; the raw ones by a plain gorilla dialer.
//
// Usage (from the module root):
//
//	go run ./bench/cmd/memdriver [-n 10000] [-modes polysock,raw] [-profile DIR]
//	go run ./bench/cmd/memdriver -modes stream,poll
//
// -profile saves each server's heap profile and goroutine dump at -n sessions. The run
// is bounded by -timeout (default 100 s); every connection goes to 127.0.0.x only.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock/internal/wire"
)

// mem mirrors memserver's Mem.
type mem struct {
	Sessions   int    `json:"sessions"`
	Goroutines int    `json:"goroutines"`
	HeapAlloc  uint64 `json:"heapAlloc"`
	HeapInuse  uint64 `json:"heapInuse"`
	StackInuse uint64 `json:"stackInuse"`
	Sys        uint64 `json:"sys"`
	RSS        uint64 `json:"rss"`
}

type config struct {
	n           int
	server      string
	sources     int
	concurrency int
	profile     string
	profileRate int
}

// targetBytes is the target for one idle polysock WebSocket session.
const targetBytes = 6 << 10

// targets are the issues' targets per mode, in bytes of heap+stack per session.
var targets = map[string]float64{"polysock": targetBytes, "stream": 10 << 10, "poll": 10 << 10}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "memdriver:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg config
	flag.IntVar(&cfg.n, "n", 10000, "idle sessions to open per mode")
	modes := flag.String("modes", "polysock,raw", "comma-separated modes: polysock, raw, stream, poll")
	flag.StringVar(&cfg.server, "server", "", "memserver binary (empty: build ./bench/cmd/memserver into a temporary directory)")
	flag.IntVar(&cfg.sources, "sources", 4, "loopback source addresses to spread connections over (127.0.0.1 … 127.0.0.N)")
	flag.IntVar(&cfg.concurrency, "concurrency", 64, "handshakes in flight")
	flag.StringVar(&cfg.profile, "profile", "", "directory for heap profiles and goroutine dumps at -n sessions (empty: none)")
	flag.IntVar(&cfg.profileRate, "memprofilerate", 0, "the server's runtime.MemProfileRate (0: default; 1: exact heap profiles, for -profile runs only)")
	timeout := flag.Duration("timeout", 100*time.Second, "bound on the whole run")
	flag.Parse()
	raiseFileLimit()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if cfg.server == "" {
		dir, err := os.MkdirTemp("", "memdriver")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.server = filepath.Join(dir, "memserver")
		build := exec.CommandContext(ctx, goTool(), "build", "-o", cfg.server, "github.com/polysock/polysock/bench/cmd/memserver")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("failed to build memserver (run from the module root): %w", err)
		}
	}
	type result struct {
		mode          string
		before, after mem
	}
	var results []result
	for _, mode := range strings.Split(*modes, ",") {
		before, after, err := measure(ctx, &cfg, mode)
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		results = append(results, result{mode, before, after})
	}

	fmt.Printf("\nMemory per idle or held session: %d sessions per mode, server in its own process (%s, %d CPUs)\n",
		cfg.n, runtime.Version(), runtime.NumCPU())
	fmt.Printf("%-9s %9s %11s %11s %11s %11s %11s %11s %11s\n", "mode", "sessions", "goroutines", "heapInuse", "stackInuse", "heap+stack", "heapAlloc", "RSS", "Sys")
	for _, r := range results {
		n := float64(r.after.Sessions - r.before.Sessions)
		per := func(a, b uint64) string { return fmt.Sprintf("%.0f", (float64(a)-float64(b))/n) }
		fmt.Printf("%-9s %9d %11.2f %11s %11s %11s %11s %11s %11s\n", r.mode, r.after.Sessions-r.before.Sessions,
			float64(r.after.Goroutines-r.before.Goroutines)/n,
			per(r.after.HeapInuse, r.before.HeapInuse), per(r.after.StackInuse, r.before.StackInuse),
			per(r.after.HeapInuse+r.after.StackInuse, r.before.HeapInuse+r.before.StackInuse),
			per(r.after.HeapAlloc, r.before.HeapAlloc), per(r.after.RSS, r.before.RSS), per(r.after.Sys, r.before.Sys))
	}
	fmt.Println("(bytes per session = (after − before) / sessions; goroutines per session likewise)")
	for _, r := range results {
		target, ok := targets[r.mode]
		if !ok {
			continue
		}
		per := (float64(r.after.HeapInuse+r.after.StackInuse) - float64(r.before.HeapInuse+r.before.StackInuse)) / float64(r.after.Sessions-r.before.Sessions)
		verdict := "met"
		if per > target {
			verdict = fmt.Sprintf("missed by %.0f bytes (%.2f× the target)", per-target, per/target)
		}
		fmt.Printf("target ≤ %.0f bytes (%.0f KiB) heap+stack per %s: %.0f bytes, %s\n", target, target/1024, modeNoun[r.mode], per, verdict)
	}
	return nil
}

// measure runs one memserver in mode and returns its memory before and after opening
// cfg.n sessions.
func measure(ctx context.Context, cfg *config, mode string) (before, after mem, err error) {
	args := []string{"-mode", mode, "-memprofilerate", fmt.Sprint(cfg.profileRate)}
	if mode == "stream" || mode == "poll" {
		// The polysock server, with its timers out of the way: a held poll is not answered
		// (PollHold), a silent stream not dropped (IdleTimeout) nor recycled
		// (StreamMaxHold), neither gets a PING.
		args = append(args, "-pollhold", "10m", "-idle", "10m", "-ping", "10m", "-streamhold", "10m")
		args[1] = "polysock"
	}
	cmd := exec.CommandContext(ctx, cfg.server, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return before, after, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return before, after, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return before, after, fmt.Errorf("failed to start memserver: %w", err)
	}
	defer func() {
		_ = stdin.Close() // memserver exits at EOF on its standard input
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return before, after, fmt.Errorf("failed to read memserver's address: %w", err)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "memserver: ")
	if !ok {
		return before, after, fmt.Errorf("unexpected memserver output %q", line)
	}
	if before, err = quiet(ctx, base, 0); err != nil {
		return before, after, err
	}

	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	if mode == "polysock" {
		wsURL += "?" + wire.ParamVersion + "=1"
	}
	start := time.Now()
	var conns []io.Closer
	switch mode {
	case "stream", "poll":
		conns, err = openAll(ctx, cfg, strings.TrimPrefix(base, "http://"), mode)
	default:
		conns, err = dialAll(ctx, cfg, wsURL, mode == "polysock")
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	if err != nil {
		return before, after, err
	}
	fmt.Printf("memdriver: %s: %d sessions open in %v\n", mode, len(conns), time.Since(start).Round(time.Millisecond))
	if after, err = quiet(ctx, base, cfg.n); err != nil {
		return before, after, err
	}
	if mode == "stream" || mode == "poll" {
		// Every session must hold its request: count the goroutines in Server.hold.
		held, err := countHeld(ctx, base)
		if err != nil {
			return before, after, err
		}
		if held != cfg.n {
			return before, after, fmt.Errorf("%d of %d requests are held by the server", held, cfg.n)
		}
		fmt.Printf("memdriver: %s: %d requests held by the server\n", mode, held)
	}
	if cfg.profile != "" {
		if err := saveProfiles(ctx, cfg.profile, base, mode); err != nil {
			return before, after, err
		}
	}
	// Zero failures: every session is still there after the measurement.
	last, err := readMem(ctx, base)
	if err != nil {
		return before, after, err
	}
	if last.Sessions != cfg.n {
		return before, after, fmt.Errorf("%d of %d sessions left after the measurement", last.Sessions, cfg.n)
	}
	return before, after, nil
}

// quiet polls the server until it holds want sessions and its goroutine count has not
// changed between two reads, then returns the last reading.
func quiet(ctx context.Context, base string, want int) (mem, error) {
	var last mem
	for i := 0; ; i++ {
		m, err := readMem(ctx, base)
		if err != nil {
			return m, err
		}
		if m.Sessions == want && i > 0 && m.Goroutines == last.Goroutines {
			return m, nil
		}
		last = m
		select {
		case <-ctx.Done():
			return m, fmt.Errorf("server did not settle at %d sessions (has %d): %w", want, m.Sessions, ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func readMem(ctx context.Context, base string) (mem, error) {
	var m mem
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/mem", nil)
	if err != nil {
		return m, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return m, fmt.Errorf("failed to read server memory: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return m, fmt.Errorf("failed to decode server memory: %w", err)
	}
	return m, nil
}

// dialAll opens cfg.n WebSocket connections, cfg.concurrency at a time, spread over
// cfg.sources loopback source addresses. With polysock it checks that each connection's
// first message starts with OPEN.
func dialAll(ctx context.Context, cfg *config, url string, polysock bool) ([]io.Closer, error) {
	dialers := make([]*websocket.Dialer, cfg.sources)
	for i := range dialers {
		nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i))}}
		dialers[i] = &websocket.Dialer{
			NetDialContext:   nd.DialContext,
			HandshakeTimeout: 10 * time.Second,
			ReadBufferSize:   512,
			WriteBufferSize:  512,
		}
	}
	return parallel(ctx, cfg, func(i int) (io.Closer, error) {
		return dialOne(ctx, dialers[i%len(dialers)], url, polysock)
	})
}

// parallel opens cfg.n sessions with open, cfg.concurrency at a time, and returns those
// that opened with the first error, if any (the rest are then not attempted).
func parallel(ctx context.Context, cfg *config, open func(i int) (io.Closer, error)) ([]io.Closer, error) {
	conns := make([]io.Closer, cfg.n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.n || ctx.Err() != nil {
					return
				}
				c, err := open(i)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("session %d: %w", i, err) })
					next.Store(int64(cfg.n))
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	var opened []io.Closer
	for _, c := range conns {
		if c != nil {
			opened = append(opened, c)
		}
	}
	return opened, firstErr
}

func dialOne(ctx context.Context, d *websocket.Dialer, url string, polysock bool) (*websocket.Conn, error) {
	c, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to dial: %w", err)
	}
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if !polysock {
		return c, nil
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, batch, err := c.ReadMessage()
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("failed to read OPEN: %w", err)
	}
	_ = c.SetReadDeadline(time.Time{})
	f, _, err := wire.DecodeBinary(batch)
	if typ != websocket.BinaryMessage || err != nil || f.Type != wire.TypeOpen {
		_ = c.Close()
		return nil, errors.New("the first message is not an OPEN batch")
	}
	return c, nil
}

// saveProfiles stores the server's heap profile and goroutine dump in dir.
func saveProfiles(ctx context.Context, dir, base, mode string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, path := range map[string]string{
		mode + "-heap.pprof":     "/debug/pprof/heap?gc=1",
		mode + "-goroutines.txt": "/debug/pprof/goroutine?debug=1",
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("failed to fetch %s: %w", path, err)
		}
		f, err := os.Create(filepath.Join(dir, name))
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("failed to save %s: %w", name, err)
		}
	}
	return nil
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
