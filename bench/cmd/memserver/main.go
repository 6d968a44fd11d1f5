// Command memserver serves one echo endpoint in its own process so that its memory can
// be measured with nothing else in the heap: the polysock handler with bench.PolysockEcho
// (-mode=polysock; every transport: WebSocket, stream and poll) or the raw
// gorilla/websocket echo (-mode=raw), at /ws on a loopback address. -mode=hello serves
// bench.HelloWorld at every path but /mem and /debug/pprof/ (the reference for wrk).
// -pollhold, -idle and -ping set the polysock server's PollHold, IdleTimeout and
// PingInterval (zero: the server's defaults), so that held polls and silent streams stay
// held while they are counted. It prints "memserver: http://ADDR" on its first line of standard output and
// exits when its standard input reaches EOF (so it never outlives its driver).
//
// GET /mem runs the garbage collector, returns freed memory to the OS and answers the
// JSON of a Mem snapshot. /debug/pprof/ serves the runtime profiles (heap, goroutine).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/polysock/polysock/bench"
	"github.com/polysock/polysock/server"
)

// Mem is the answer of GET /mem.
type Mem struct {
	Sessions   int    `json:"sessions"`   // live sessions (polysock) or open connections (raw)
	Goroutines int    `json:"goroutines"` // runtime.NumGoroutine
	HeapAlloc  uint64 `json:"heapAlloc"`  // bytes of live heap objects
	HeapInuse  uint64 `json:"heapInuse"`  // bytes in in-use heap spans
	StackInuse uint64 `json:"stackInuse"` // bytes of goroutine stacks
	Sys        uint64 `json:"sys"`        // bytes obtained from the OS by the Go runtime
	RSS        uint64 `json:"rss"`        // VmRSS from /proc/self/status, bytes
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	mode := flag.String("mode", "polysock", "polysock, raw or hello")
	var opts server.Options
	flag.DurationVar(&opts.PollHold, "pollhold", 0, "polysock: Options.PollHold (0: default)")
	flag.DurationVar(&opts.IdleTimeout, "idle", 0, "polysock: Options.IdleTimeout (0: default)")
	flag.DurationVar(&opts.PingInterval, "ping", 0, "polysock: Options.PingInterval (0: default)")
	flag.DurationVar(&opts.StreamMaxHold, "streamhold", 0, "polysock: Options.StreamMaxHold (0: default)")
	// Every session of the driver comes from a handful of loopback addresses.
	opts.MaxSessionsPerClient = 1 << 20
	profileRate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate (0: the runtime's default; 1: record every allocation)")
	flag.Parse()
	if *profileRate > 0 {
		runtime.MemProfileRate = *profileRate
	}
	raiseFileLimit()

	var sessions func() int
	mux := http.NewServeMux()
	switch *mode {
	case "polysock":
		srv := server.New(bench.PolysockEcho, &opts)
		mux.Handle("/ws", srv)
		sessions = func() int { return srv.Stats().Sessions }
	case "raw":
		var open atomic.Int64
		mux.Handle("/ws", bench.RawEcho(func() { open.Add(1) }, func() { open.Add(-1) }))
		sessions = func() int { return int(open.Load()) }
	case "hello":
		mux.HandleFunc("/", bench.HelloWorld)
		sessions = func() int { return 0 }
	default:
		fmt.Fprintf(os.Stderr, "memserver: unknown -mode %q\n", *mode)
		os.Exit(2)
	}
	mux.HandleFunc("/mem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(snapshot(sessions()))
	})
	mux.Handle("/debug/pprof/", http.DefaultServeMux)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "memserver: failed to listen:", err)
		os.Exit(1)
	}
	fmt.Printf("memserver: http://%s\n", ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, "memserver: failed to serve:", err)
		os.Exit(1)
	}
}

// snapshot collects garbage (twice, so that stacks shrink and finalizers run), returns
// free memory to the OS and reads the counters.
func snapshot(sessions int) Mem {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return Mem{
		Sessions:   sessions,
		Goroutines: runtime.NumGoroutine(),
		HeapAlloc:  m.HeapAlloc,
		HeapInuse:  m.HeapInuse,
		StackInuse: m.StackInuse,
		Sys:        m.Sys,
		RSS:        rss(),
	}
}

// rss reads VmRSS from /proc/self/status; 0 when unavailable.
func rss() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// raiseFileLimit lifts the soft limit on open files to the hard limit.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
