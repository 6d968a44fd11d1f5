// Command echocompare runs BenchmarkEcho (package bench) in interleaved rounds and prints
// the echo throughput of polysock beside raw gorilla/websocket, with their ratio. Each
// round runs, for every window, both stacks one after the other in fresh processes of the
// same test binary, alternating which goes first, so that drift on a noisy machine hits
// both alike; the ratio of each round compares two runs taken seconds apart.
//
// Usage (from the module root):
//
//	go run ./bench/cmd/echocompare [-rounds 6] [-benchtime 1s] [-windows 1,16] [-separate]
//
// It builds the test binary with `go test -c` (the go command is $GO, or go), prints
// every benchmark line as it comes, then a summary: median msgs/s of each stack, the
// median and range of the per-round ratios polysock/raw, and the target. With
// -separate the echo servers run in bench/cmd/memserver processes instead of the
// benchmark's own.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	pkg    = "github.com/polysock/polysock/bench"
	target = 0.95 // the target: polysock ≥ 0.95× raw gorilla throughput
)

var stacks = []string{"polysock", "raw"}

// result is one benchmark line's metrics, by unit (msgs/s, ns/op, B/op, allocs/op).
type result map[string]float64

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "echocompare:", err)
		os.Exit(1)
	}
}

func run() error {
	rounds := flag.Int("rounds", 6, "interleaved rounds (even: each stack goes first equally often)")
	benchtime := flag.String("benchtime", "1s", "-test.benchtime of each run")
	windows := flag.String("windows", "1,16", "comma-separated windows (messages in flight per connection)")
	bin := flag.String("bin", "", "test binary of package bench (empty: build it with go test -c)")
	separate := flag.Bool("separate", false, "run the echo servers in their own processes (bench/cmd/memserver) instead of the benchmark's")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if *bin == "" {
		dir, err := os.MkdirTemp("", "echocompare")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "bench.test")
		build := exec.CommandContext(ctx, goTool(), "test", "-c", "-o", *bin, pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("failed to build the benchmark: %w", err)
		}
	}
	var extra []string
	if *separate {
		dir, err := os.MkdirTemp("", "echocompare")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		server := filepath.Join(dir, "memserver")
		build := exec.CommandContext(ctx, goTool(), "build", "-o", server, pkg+"/cmd/memserver")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("failed to build memserver: %w", err)
		}
		extra = append(extra, "-echo.server="+server)
	}
	ws := strings.Split(*windows, ",")
	results := map[string]map[string][]result{} // window → stack → one result per round
	for _, w := range ws {
		results[w] = map[string][]result{}
	}
	where := "server and clients in one process"
	if *separate {
		where = "servers in their own processes"
	}
	fmt.Printf("echocompare: %d rounds, -benchtime %s, %s, %s, %d CPUs\n", *rounds, *benchtime, where, runtime.Version(), runtime.NumCPU())
	for r := range *rounds {
		for _, w := range ws {
			order := slices.Clone(stacks)
			if r%2 == 1 {
				slices.Reverse(order)
			}
			for _, st := range order {
				res, line, err := bench(ctx, *bin, w, st, *benchtime, extra)
				if err != nil {
					return err
				}
				fmt.Printf("round %d: %s\n", r+1, line)
				results[w][st] = append(results[w][st], res)
			}
		}
	}

	fmt.Printf("\nWebSocket echo, 50 connections, 64-byte binary messages, %d rounds, %s (%s, %d CPUs)\n", *rounds, where, runtime.Version(), runtime.NumCPU())
	fmt.Printf("%-7s %14s %14s %8s %15s   %-22s %s\n", "window", "polysock msg/s", "raw msg/s", "ratio", "ratio range",
		"polysock B/allocs/gor", "raw B/allocs/gor")
	for _, w := range ws {
		p, q := results[w]["polysock"], results[w]["raw"]
		ratios := make([]float64, len(p))
		for i := range p {
			ratios[i] = p[i]["msgs/s"] / q[i]["msgs/s"]
		}
		fmt.Printf("%-7s %14.0f %14.0f %8.3f %7.3f–%-7.3f   %-22s %s\n", w, median(p, "msgs/s"), median(q, "msgs/s"),
			medianOf(ratios), slices.Min(ratios), slices.Max(ratios), perOp(p), perOp(q))
	}
	fmt.Println("(msg/s: median over rounds; ratio: median of the per-round ratios polysock/raw;")
	fmt.Println(" B/allocs/gor: bytes allocated, allocations and goroutines started per echoed message, medians, in the benchmark's process)")
	for _, w := range ws {
		p, q := results[w]["polysock"], results[w]["raw"]
		ratios := make([]float64, len(p))
		for i := range p {
			ratios[i] = p[i]["msgs/s"] / q[i]["msgs/s"]
		}
		m := medianOf(ratios)
		verdict := "met"
		if m < target {
			verdict = fmt.Sprintf("missed by %.1f%% of raw throughput", (target-m)*100)
		}
		fmt.Printf("target ≥ %.2f× raw gorilla, window %s: %.3f×, %s\n", target, w, m, verdict)
	}
	return nil
}

// bench runs one sub-benchmark in a fresh process and returns its metrics and line.
func bench(ctx context.Context, bin, window, stack, benchtime string, extra []string) (result, string, error) {
	pattern := fmt.Sprintf("^BenchmarkEcho$/^window=%s$/^impl=%s$", window, stack)
	args := append([]string{"-test.run=^$", "-test.bench=" + pattern, "-test.benchtime=" + benchtime,
		"-test.benchmem", "-test.count=1", "-test.timeout=10m"}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, "", fmt.Errorf("failed to run %s: %w\n%s", pattern, err, out.String())
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "BenchmarkEcho/") {
			continue
		}
		f := strings.Fields(line)
		res := result{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, "", fmt.Errorf("failed to parse %q: %w", line, err)
			}
			res[f[i+1]] = v
		}
		if res["msgs/s"] == 0 {
			return nil, "", fmt.Errorf("no msgs/s in %q", line)
		}
		return res, line, nil
	}
	return nil, "", fmt.Errorf("no result for %s:\n%s", pattern, out.String())
}

// perOp formats the medians of B/op, allocs/op and goroutines/op.
func perOp(rs []result) string {
	return fmt.Sprintf("%.0f/%.1f/%.3f", median(rs, "B/op"), median(rs, "allocs/op"), median(rs, "goroutines/op"))
}

func median(rs []result, unit string) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = r[unit]
	}
	return medianOf(v)
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}
