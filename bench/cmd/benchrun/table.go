package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/polysock/polysock/bench/loadgen"
)

// scenarioResult holds a scenario's outcomes by target, indexed by round (the reference
// has one more, the closing run).
type scenarioResult struct {
	s        scenario
	outcomes map[string][]outcome
}

func newScenarioResult(s scenario) *scenarioResult {
	return &scenarioResult{s: s, outcomes: map[string][]outcome{}}
}

func (r *scenarioResult) record(round int, f loadgen.Framer, o outcome) {
	os := r.outcomes[f.Name()]
	for len(os) <= round {
		os = append(os, outcome{err: fmt.Errorf("not run")})
	}
	os[round] = o
	r.outcomes[f.Name()] = os
}

// values returns the target's figures of metric m over the rounds (NaN where the run
// failed).
func (r *scenarioResult) values(target, m string) []float64 {
	var out []float64
	for _, o := range r.outcomes[target] {
		if o.err != nil {
			out = append(out, math.NaN())
			continue
		}
		out = append(out, o.vals[m])
	}
	return out
}

// ratios returns, per round, the target's figure over the geometric mean of the
// reference runs before and after it.
func (r *scenarioResult) ratios(target, m string) []float64 {
	ref := r.values(reference, m)
	var out []float64
	for i, v := range r.values(target, m) {
		var rs []float64
		for _, j := range []int{i, i + 1} {
			if j < len(ref) && !math.IsNaN(ref[j]) && ref[j] > 0 {
				rs = append(rs, ref[j])
			}
		}
		if math.IsNaN(v) || len(rs) == 0 {
			continue
		}
		g := rs[0]
		if len(rs) == 2 {
			g = math.Sqrt(rs[0] * rs[1])
		}
		out = append(out, v/g)
	}
	return out
}

// stats returns the median, minimum and maximum of the numbers of xs (NaN ignored).
func stats(xs []float64) (med, lo, hi float64, n int) {
	ys := slices.DeleteFunc(slices.Clone(xs), math.IsNaN)
	if len(ys) == 0 {
		return math.NaN(), math.NaN(), math.NaN(), 0
	}
	slices.Sort(ys)
	k := len(ys)
	med = ys[k/2]
	if k%2 == 0 {
		med = (ys[k/2-1] + ys[k/2]) / 2
	}
	return med, ys[0], ys[k-1], k
}

func median(xs []float64) float64 { m, _, _, _ := stats(xs); return m }

// num formats a figure with thousands separators (two decimals below 10).
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case math.Abs(v) < 10 && v != math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func ratio(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "×"
}

func spread(xs []float64, f func(float64) string) string {
	med, _, _, _ := stats(xs)
	return withRange(med, xs, f)
}

// withRange formats v followed by the range of xs.
func withRange(v float64, xs []float64, f func(float64) string) string {
	_, lo, hi, n := stats(xs)
	if n == 0 || math.IsNaN(v) {
		return "–"
	}
	if n == 1 || lo == hi {
		return f(v)
	}
	return fmt.Sprintf("%s (%s–%s)", f(v), f(lo), f(hi))
}

// refRatio is the target's median over the reference's median: robust to one reference
// run hit by a burst of load, which would skew the per-round ratios of two rounds.
func (r *scenarioResult) refRatio(target, m string) float64 {
	return median(r.values(target, m)) / median(r.values(reference, m))
}

func failures(os []outcome) string {
	var n int
	var first error
	for _, o := range os {
		if o.err != nil {
			n++
			if first == nil {
				first = o.err
			}
		}
	}
	if n == 0 {
		return ""
	}
	msg := first.Error()
	if len(msg) > 160 {
		msg = msg[:160] + "…"
	}
	return fmt.Sprintf("%d of %d runs failed: %s", n, len(os), strings.ReplaceAll(msg, "|", "/"))
}

// printTables prints one Markdown table per scenario, then the summary of ratios.
func printTables(w io.Writer, results []*scenarioResult, targets []loadgen.Framer) {
	for _, r := range results {
		fmt.Fprintf(w, "\n### %s\n\n%s. Median (range) over the runs; × %s: the median over the reference's median (range of the per-round ratios).\n\n", r.s.name, r.s.what, reference)
		head := "| target |"
		sep := "| --- |"
		for _, m := range r.s.metrics {
			head += fmt.Sprintf(" %s | × ref |", m.name)
			sep += " ---: | ---: |"
		}
		fmt.Fprintln(w, head+" notes |")
		fmt.Fprintln(w, sep+" --- |")
		for _, f := range targets {
			t := f.Name()
			if why := r.s.na(t); why != "" {
				fmt.Fprintf(w, "| %s |%s n/a: %s |\n", t, strings.Repeat(" | |", len(r.s.metrics)), why)
				continue
			}
			row := "| " + t + " |"
			for _, m := range r.s.metrics {
				row += " " + spread(r.values(t, m.name), num) + " |"
				if t == reference {
					row += " 1 |"
				} else {
					row += " " + withRange(r.refRatio(t, m.name), r.ratios(t, m.name), ratio) + " |"
				}
			}
			fmt.Fprintln(w, row+" "+failures(r.outcomes[t])+" |")
		}
	}
	printSummary(w, results, targets)
}

func find(results []*scenarioResult, name string) *scenarioResult {
	for _, r := range results {
		if r.s.name == name {
			return r
		}
	}
	return nil
}

// summary columns: scenario, metric, heading; "own" columns divide a target's burst rate
// by its own one-at-a-time rate instead of the reference.
var summaryCols = []struct{ scenario, metric, head string }{
	{"echo-64", "msgs/s", "echo 64 B msgs/s"},
	{"echo-1k", "msgs/s", "echo 1 KiB msgs/s"},
	{"burst-8", "msgs/s", "burst-8 msgs/s"},
	{"latency-1", "p99 µs", "1-conn p99"},
	{"open-loop", "p99 µs", "open-loop p99"},
	{"open-loop", "p99.9 µs", "open-loop p99.9"},
	{"fanout-1k", "deliveries/s", "fan-out 1k deliveries/s"},
	{"fanout-1k", "sessions/s", "connect storm sessions/s"},
	{"sessions-10k", "deliveries/s", "fan-out 10k deliveries/s"},
	{"push", "msgs/s", "push msgs/s"},
}

func printSummary(w io.Writer, results []*scenarioResult, targets []loadgen.Framer) {
	fmt.Fprintf(w, "\n### Summary: ratios to %s (medians)\n\n", reference)
	fmt.Fprintf(w, "Higher is better for rates, lower for latencies and memory. burst ÷ single is a target's burst-8 rate over its own echo-64 rate; memory is absolute.\n\n")
	head, sep := "| target |", "| --- |"
	for _, c := range summaryCols {
		head += " " + c.head + " |"
		sep += " ---: |"
	}
	fmt.Fprintln(w, head+" burst ÷ single | heap+stack B/session (10k idle) |")
	fmt.Fprintln(w, sep+" ---: | ---: |")
	for _, f := range targets {
		t := f.Name()
		row := "| " + t + " |"
		for _, c := range summaryCols {
			r := find(results, c.scenario)
			switch {
			case r == nil:
				row += " |"
			case r.s.na(t) != "":
				row += " n/a |"
			case t == reference:
				row += " 1 |"
			default:
				row += " " + ratio(r.refRatio(t, c.metric)) + " |"
			}
		}
		row += " " + ratio(ownRatio(results, t)) + " |"
		if r := find(results, "sessions-10k"); r != nil && r.s.na(t) == "" {
			row += " " + num(median(r.values(t, "heap+stack B/session"))) + " |"
		} else {
			row += " n/a |"
		}
		fmt.Fprintln(w, row)
	}
	for _, ps := range []string{"polysock-lean/websocket", "polysock/websocket"} {
		if measured(results, ps) {
			printTargets(w, results, ps)
		}
	}
}

func ownRatio(results []*scenarioResult, t string) float64 {
	b, e := find(results, "burst-8"), find(results, "echo-64")
	if b == nil || e == nil {
		return math.NaN()
	}
	return median(b.values(t, "msgs/s")) / median(e.values(t, "msgs/s"))
}

// measured reports whether target ran in any scenario.
func measured(results []*scenarioResult, target string) bool {
	for _, r := range results {
		if len(r.outcomes[target]) > 0 {
			return true
		}
	}
	return false
}

// printTargets states the targets for ps (polysock-lean/websocket: the server
// driven by a lean framer, as the other servers are; polysock/websocket: through the Go
// client) against the figures.
func printTargets(w io.Writer, results []*scenarioResult, ps string) {
	fmt.Fprintf(w, "\n### Targets (%s; measurements, not assertions)\n\n", ps)
	verdict := func(what string, v, limit float64, atLeast bool) {
		state := "met"
		switch {
		case math.IsNaN(v):
			state = "not measured"
		case atLeast && v < limit, !atLeast && v > limit:
			state = "missed"
		}
		fmt.Fprintf(w, "- %s: %s → %s\n", what, ratio(v), state)
	}
	if e := find(results, "echo-64"); e != nil {
		verdict("echo 64 B ≥ 0.95× raw gorilla", e.refRatio(ps, "msgs/s"), 0.95, true)
		mine := median(e.values(ps, "msgs/s"))
		for _, o := range []struct {
			t     string
			limit float64
		}{{"sockjs/websocket", 1}, {"centrifuge/websocket", 1}, {"socketio/websocket", 1.6}} {
			verdict(fmt.Sprintf("echo 64 B ≥ %.1f× %s", o.limit, o.t), mine/median(e.values(o.t, "msgs/s")), o.limit, true)
		}
	}
	if l := find(results, "latency-1"); l != nil {
		verdict("single-connection p99 ≤ 1.3× raw gorilla", l.refRatio(ps, "p99 µs"), 1.3, false)
	}
	if o := find(results, "open-loop"); o != nil {
		verdict("open-loop p99 ≤ 1.3× raw gorilla", o.refRatio(ps, "p99 µs"), 1.3, false)
	}
	verdict("bursts of 8 ≥ 2× one message at a time (burst-8 ÷ echo-64)", ownRatio(results, ps), 2, true)
	if b := find(results, "burst-8"); b != nil {
		verdict("bursts of 8 ≥ 2× raw gorilla's bursts of 8 (one write per frame)", b.refRatio(ps, "msgs/s"), 2, true)
	}
	if s := find(results, "sessions-10k"); s != nil {
		v := median(s.values(ps, "heap+stack B/session"))
		state := "met"
		if math.IsNaN(v) {
			state = "not measured"
		} else if v > 6144 {
			state = "missed"
		}
		fmt.Fprintf(w, "- memory per idle WebSocket session ≤ 6 KiB (6,144 B heap+stack): %s B → %s\n", num(v), state)
	}
}
