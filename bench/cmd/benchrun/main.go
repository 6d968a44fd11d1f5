// Command benchrun runs polysock's comparative benchmarks: the same load generator
// (bench/loadgen) drives, through pluggable framers (bench/framers), a raw
// gorilla/websocket echo (the reference), polysock on each transport, igm/sockjs-go,
// socket.io 4.8 on Node and centrifugal/centrifuge, each server in its own process on a
// free 127.0.0.1 port, a fresh one per measurement. Every scenario runs in rounds, each
// round starting with the reference, plus one more reference run at the end. A target's
// ratio is its median over the reference's median; its range is that of the per-round
// ratios (the figure over the geometric mean of the reference runs before and after it).
// It prints each measurement as it comes, then one table per scenario (median,
// range over rounds, ratio to the reference) and a summary of ratios with the issue's
// targets. See docs/BENCHMARKS.md.
//
// Usage (from the module root; `make bench` runs it):
//
//	go run ./bench/cmd/benchrun [-quick] [-rounds 3] [-targets a,b] [-scenarios x,y] [-ignore-load]
//
// It refuses to run when the 1-minute load average exceeds the number of CPUs, unless
// -ignore-load (or POLYSOCK_BENCH_IGNORE_LOAD=1) is given; the override and the load
// averages seen are printed with the results.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/polysock/polysock/bench/framers"
	"github.com/polysock/polysock/bench/loadgen"
)

const reference = "raw/websocket"

// environment is what the run needs from the machine.
type environment struct {
	root      string // module root
	serverBin string // built bench/cmd/benchserver
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

func run() error {
	quick := flag.Bool("quick", false, "short measurements and fewer sessions (1–3 minutes)")
	rounds := flag.Int("rounds", 3, "rounds per scenario (the reference runs rounds+1 times)")
	targetList := flag.String("targets", "", "comma-separated targets (default: all)")
	scenarioList := flag.String("scenarios", "", "comma-separated scenarios (default: all)")
	ignoreLoad := flag.Bool("ignore-load", os.Getenv("POLYSOCK_BENCH_IGNORE_LOAD") == "1", "run even when the load average is high (also POLYSOCK_BENCH_IGNORE_LOAD=1)")
	flag.Parse()

	cfg := fullConfig()
	if *quick {
		cfg = quickConfig()
	}
	load := loadAvg()
	fmt.Println(machine())
	fmt.Printf("command: %s\n", strings.Join(os.Args, " "))
	fmt.Printf("load average at start: %s\n", load)
	if l1 := load1(load); l1 > float64(runtime.NumCPU()) {
		if !*ignoreLoad {
			return fmt.Errorf("1-minute load average %.2f exceeds %d CPUs: refusing to measure (override with -ignore-load or POLYSOCK_BENCH_IGNORE_LOAD=1)", l1, runtime.NumCPU())
		}
		fmt.Printf("LOAD CHECK OVERRIDDEN: 1-minute load average %.2f exceeds %d CPUs; figures are unreliable\n", l1, runtime.NumCPU())
	}

	root, err := os.Getwd()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "benchrun")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	env := &environment{root: root, serverBin: filepath.Join(tmp, "benchserver")}
	build := exec.Command(goTool(), "build", "-o", env.serverBin, "./bench/cmd/benchserver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("failed to build benchserver: %w", err)
	}

	targets := framers.All()
	if *targetList != "" {
		want := strings.Split(*targetList, ",")
		targets = slices.DeleteFunc(targets, func(f loadgen.Framer) bool {
			return f.Name() != reference && !slices.Contains(want, f.Name())
		})
	}
	scens := scenarios(cfg)
	if *scenarioList != "" {
		want := strings.Split(*scenarioList, ",")
		scens = slices.DeleteFunc(scens, func(s scenario) bool { return !slices.Contains(want, s.name) })
	}
	start := time.Now()
	var results []*scenarioResult
	for _, s := range scens {
		if l1 := load1(loadAvg()); l1 > float64(runtime.NumCPU()) && !*ignoreLoad {
			return fmt.Errorf("1-minute load average %.2f exceeds %d CPUs before %s: stopping", l1, runtime.NumCPU(), s.name)
		}
		results = append(results, runScenario(env, cfg, s, targets, *rounds))
	}
	fmt.Printf("\nload average at end: %s; total time %s\n", loadAvg(), time.Since(start).Round(time.Second))
	printTables(os.Stdout, results, targets)
	return nil
}

// runScenario runs s in rounds: the reference first in every round, then every other
// target it applies to, and the reference once more at the end.
func runScenario(env *environment, cfg *config, s scenario, targets []loadgen.Framer, rounds int) *scenarioResult {
	res := newScenarioResult(s)
	fmt.Printf("\n== %s: %s\n", s.name, s.what)
	var ref loadgen.Framer
	for _, f := range targets {
		if f.Name() == reference {
			ref = f
		}
	}
	for r := range rounds {
		res.record(r, ref, measure(env, cfg, s, ref, r))
		for _, f := range targets {
			if f == ref || s.na(f.Name()) != "" {
				continue
			}
			res.record(r, f, measure(env, cfg, s, f, r))
		}
	}
	res.record(rounds, ref, measure(env, cfg, s, ref, rounds))
	return res
}

// outcome is one measurement.
type outcome struct {
	vals map[string]float64
	err  error
}

func measure(env *environment, cfg *config, s scenario, f loadgen.Framer, round int) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // hang guard
	defer cancel()
	srv, err := startServer(env, framers.Server(f.Name()))
	var vals map[string]float64
	if err == nil {
		vals, err = s.run(ctx, f, srv, cfg)
		srv.stop()
	}
	line := fmt.Sprintf("%s round %d %-22s", s.name, round+1, f.Name())
	if err != nil {
		fmt.Printf("%s error: %v\n", line, err)
		return outcome{err: err}
	}
	for _, m := range s.metrics {
		line += fmt.Sprintf("  %s=%s", m.name, num(vals[m.name]))
	}
	fmt.Println(line)
	return outcome{vals: vals}
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}
