// Command httpcompare measures the HTTP transports (stream, poll) beside the WebSocket
// transport and the reference limits, in rounds, and prints the ratios the issue targets.
// Each round runs, in fresh processes:
//
//   - package bench: BenchmarkTransportEcho and BenchmarkTransportPush (polysock server +
//     Go client, per transport), BenchmarkRoundTrip (long-poll round trips and a
//     hello-world handler under the same Go load generator, 50 clients) and the raw
//     gorilla echo (BenchmarkEcho/window=1/impl=raw);
//   - package server: BenchmarkStreamPush, BenchmarkWebSocketPush, BenchmarkStreamSend,
//     BenchmarkPollPush and BenchmarkHelloWorld (lean hand-written clients);
//   - wrk -t2 -c50 against bench.HelloWorld served by bench/cmd/memserver -mode hello in its
//     own process (skipped, and said so, when wrk is not installed).
//
// Usage (from the module root):
//
//	go run ./bench/cmd/httpcompare [-rounds 3] [-benchtime 1s] [-wrk 5s]
//
// The summary gives, per figure, the median over rounds, and per ratio the median and
// range of the per-round ratios. Traffic goes to 127.0.0.1 only.
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
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

const mod = "github.com/polysock/polysock"

// result is one benchmark line's metrics by unit.
type result map[string]float64

// rounds holds, per benchmark name (without the -GOMAXPROCS suffix), one result per round.
type rounds map[string][]result

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "httpcompare:", err)
		os.Exit(1)
	}
}

func run() error {
	nRounds := flag.Int("rounds", 3, "rounds")
	benchtime := flag.String("benchtime", "1s", "-test.benchtime of each benchmark")
	wrkTime := flag.Duration("wrk", 5*time.Second, "duration of each wrk run")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	dir, err := os.MkdirTemp("", "httpcompare")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	benchBin, serverBin, memBin := filepath.Join(dir, "bench.test"), filepath.Join(dir, "server.test"), filepath.Join(dir, "memserver")
	for _, b := range [][]string{
		{"test", "-c", "-o", benchBin, mod + "/bench"},
		{"test", "-c", "-o", serverBin, mod + "/server"},
		{"build", "-o", memBin, mod + "/bench/cmd/memserver"},
	} {
		cmd := exec.CommandContext(ctx, goTool(), b...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("failed to build %s (run from the module root): %w", b[len(b)-1], err)
		}
	}
	wrkPath, wrkErr := exec.LookPath("wrk")
	var helloURL string
	if wrkErr == nil {
		url, stop, err := startHello(ctx, memBin)
		if err != nil {
			return err
		}
		defer stop()
		helloURL = url
	}

	runs := []struct{ bin, pattern string }{
		{benchBin, "^(BenchmarkTransportEcho|BenchmarkTransportPush|BenchmarkRoundTrip)$"},
		{benchBin, "^BenchmarkEcho$/^window=1$/^impl=raw$"},
		{serverBin, "^(BenchmarkStreamPush|BenchmarkWebSocketPush|BenchmarkStreamSend|BenchmarkPollPush|BenchmarkHelloWorld)$"},
	}
	res := rounds{}
	fmt.Printf("httpcompare: %d rounds, -benchtime %s, wrk %v, %s, %d CPUs, %s\n", *nRounds, *benchtime, *wrkTime,
		runtime.Version(), runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339))
	for r := range *nRounds {
		for _, rn := range runs {
			if err := benchRun(ctx, rn.bin, rn.pattern, *benchtime, r+1, res); err != nil {
				return err
			}
		}
		if wrkErr == nil {
			if err := wrk(ctx, wrkPath, helloURL, *wrkTime, r+1, res); err != nil {
				return err
			}
		}
	}
	summary(res, *nRounds)
	if wrkErr != nil {
		fmt.Println("wrk: not installed (Debian package wrk); the wrk reference was not run")
	}
	return nil
}

var suffix = regexp.MustCompile(`-\d+$`)

// benchRun runs the benchmarks matching pattern in bin once and records each line.
func benchRun(ctx context.Context, bin, pattern, benchtime string, round int, res rounds) error {
	cmd := exec.CommandContext(ctx, bin, "-test.run=^$", "-test.bench="+pattern, "-test.benchtime="+benchtime,
		"-test.benchmem", "-test.count=1", "-test.timeout=10m")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("failed to run %s: %w\n%s", pattern, err, out.String())
	}
	found := false
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		r := result{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return fmt.Errorf("failed to parse %q: %w", line, err)
			}
			r[f[i+1]] = v
		}
		name := suffix.ReplaceAllString(f[0], "")
		res[name] = append(res[name], r)
		fmt.Printf("round %d: %s\n", round, strings.Join(f, " "))
		found = true
	}
	if !found {
		return fmt.Errorf("no result for %s:\n%s", pattern, out.String())
	}
	return nil
}

// startHello runs memserver -mode hello and returns its URL.
func startHello(ctx context.Context, memBin string) (string, func(), error) {
	cmd := exec.CommandContext(ctx, memBin, "-mode", "hello")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("failed to start memserver: %w", err)
	}
	stop := func() {
		_ = stdin.Close() // memserver exits at EOF on its standard input
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "memserver: ")
	if err != nil || !ok {
		stop()
		return "", nil, fmt.Errorf("failed to read memserver's address: %q %v", line, err)
	}
	return base + "/", stop, nil
}

var (
	wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkPct  = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
)

// wrk runs wrk -t2 -c50 --latency against url and records requests/s, p50-µs and p99-µs
// under the name "wrk/hello".
func wrk(ctx context.Context, bin, url string, d time.Duration, round int, res rounds) error {
	cmd := exec.CommandContext(ctx, bin, "-t2", "-c50", "-d"+strconv.Itoa(int(d.Seconds()))+"s", "--latency", url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("failed to run wrk: %w\n%s", err, out)
	}
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("no Requests/sec in wrk's output:\n%s", out)
	}
	r := result{}
	r["requests/s"], _ = strconv.ParseFloat(string(m[1]), 64)
	for _, p := range wrkPct.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(p[2]), 64)
		switch string(p[3]) {
		case "ms":
			v *= 1e3
		case "s":
			v *= 1e6
		}
		r["p"+string(p[1])+"-µs"] = v
	}
	res["wrk/hello"] = append(res["wrk/hello"], r)
	fmt.Printf("round %d: wrk -t2 -c50 -d%v --latency (hello-world, separate process): %.0f requests/s, p50 %.0f µs, p99 %.0f µs\n",
		round, d, r["requests/s"], r["p50-µs"], r["p99-µs"])
	return nil
}

func summary(res rounds, n int) {
	med := func(name, unit string) float64 {
		v := make([]float64, 0, len(res[name]))
		for _, r := range res[name] {
			v = append(v, r[unit])
		}
		return medianOf(v)
	}
	fmt.Printf("\nHTTP transports, medians over %d rounds (%s, %d CPUs)\n", n, runtime.Version(), runtime.NumCPU())
	fmt.Printf("%-10s %12s %8s %8s %14s\n", "transport", "echo msgs/s", "p50 µs", "p99 µs", "push msgs/s")
	for _, tr := range []string{"websocket", "stream", "poll"} {
		e, p := "BenchmarkTransportEcho/transport="+tr, "BenchmarkTransportPush/transport="+tr
		fmt.Printf("%-10s %12.0f %8.0f %8.0f %14.0f\n", tr, med(e, "msgs/s"), med(e, "p50-µs"), med(e, "p99-µs"), med(p, "msgs/s"))
	}
	fmt.Printf("%-10s %12.0f %8s %8s %14s   (raw gorilla echo, 50 connections, ping-pong; no latency samples)\n",
		"raw", med("BenchmarkEcho/window=1/impl=raw", "msgs/s"), "-", "-", "-")
	fmt.Printf("\n%-44s %12s %8s %8s\n", "request rate, 50 clients", "requests/s", "p50 µs", "p99 µs")
	for _, l := range []struct{ label, name string }{
		{"long-poll round trips (Go generator)", "BenchmarkRoundTrip/target=poll"},
		{"hello-world (same Go generator)", "BenchmarkRoundTrip/target=hello"},
		{"hello-world (wrk -t2 -c50, own process)", "wrk/hello"},
	} {
		if len(res[l.name]) > 0 {
			fmt.Printf("%-44s %12.0f %8.0f %8.0f\n", l.label, med(l.name, "requests/s"), med(l.name, "p50-µs"), med(l.name, "p99-µs"))
		}
	}
	fmt.Println()
	target := func(label, num, numUnit, den, denUnit string, want float64) {
		if len(res[num]) == 0 || len(res[den]) == 0 {
			return
		}
		ratios := make([]float64, 0, n)
		for i := range min(len(res[num]), len(res[den])) {
			ratios = append(ratios, res[num][i][numUnit]/res[den][i][denUnit])
		}
		m := medianOf(ratios)
		verdict := "met"
		if m < want {
			verdict = fmt.Sprintf("missed by %.0f%% of the target", (want-m)/want*100)
		}
		fmt.Printf("%-58s %6.2f× (range %.2f–%.2f)  target ≥ %.1f×: %s\n", label, m, slices.Min(ratios), slices.Max(ratios), want, verdict)
	}
	target("long-poll round trips / hello-world, Go generator", "BenchmarkRoundTrip/target=poll", "requests/s", "BenchmarkRoundTrip/target=hello", "requests/s", 0.8)
	target("long-poll round trips / hello-world under wrk", "BenchmarkRoundTrip/target=poll", "requests/s", "wrk/hello", "requests/s", 0.8)
	target("poll push / hello-world, 1 client (server benchmarks)", "BenchmarkPollPush", "roundtrips/s", "BenchmarkHelloWorld/sequential", "requests/s", 0.8)
	target("stream push / WebSocket push, Go client", "BenchmarkTransportPush/transport=stream", "msgs/s", "BenchmarkTransportPush/transport=websocket", "msgs/s", 0.8)
	target("stream push / WebSocket push (server benchmarks)", "BenchmarkStreamPush", "msgs/s", "BenchmarkWebSocketPush", "msgs/s", 0.8)
	target("Stream.Send 8 frames per write / 1 frame per write", "BenchmarkStreamSend/frames-per-write=8", "frames/s", "BenchmarkStreamSend/frames-per-write=1", "frames/s", 2)
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}
