package main

import (
	"errors"
	"math"
	"testing"

	"github.com/polysock/polysock/bench/framers"
)

func TestStats(t *testing.T) {
	med, lo, hi, n := stats([]float64{5, math.NaN(), 1, 3, 100})
	if med != 4 || lo != 1 || hi != 100 || n != 4 {
		t.Fatalf("stats = %v %v %v %v, want 4 1 100 4", med, lo, hi, n)
	}
	if m, _, _, n := stats([]float64{math.NaN()}); !math.IsNaN(m) || n != 0 {
		t.Fatalf("stats of no number = %v, %d", m, n)
	}
}

func TestNum(t *testing.T) {
	for in, want := range map[float64]string{1234567: "1,234,567", 999: "999", 2.5: "2.50", -12345: "-12,345", 0: "0"} {
		if got := num(in); got != want {
			t.Errorf("num(%v) = %q, want %q", in, got, want)
		}
	}
}

// TestRatios: a target's per-round ratio divides by the geometric mean of the reference
// runs around it, a failed run counts for nothing, and the headline ratio is the median
// over the reference's median.
func TestRatios(t *testing.T) {
	ref, tgt := framers.Raw{}, framers.Polysock("websocket")
	r := newScenarioResult(scenario{name: "x"})
	for i, v := range []float64{100, 400, 100, 100} {
		r.record(i, ref, outcome{vals: map[string]float64{"m": v}})
	}
	r.record(0, tgt, outcome{vals: map[string]float64{"m": 100}})
	r.record(1, tgt, outcome{err: errors.New("failed")})
	r.record(2, tgt, outcome{vals: map[string]float64{"m": 50}})
	got := r.ratios(tgt.Name(), "m")
	want := []float64{0.5, 0.5} // 100/√(100·400), 50/√(100·100)
	if len(got) != len(want) || math.Abs(got[0]-want[0]) > 1e-9 || math.Abs(got[1]-want[1]) > 1e-9 {
		t.Fatalf("ratios = %v, want %v", got, want)
	}
	if rr := r.refRatio(tgt.Name(), "m"); math.Abs(rr-0.75) > 1e-9 { // median 75 / median 100
		t.Fatalf("refRatio = %v, want 0.75", rr)
	}
	if f := failures(r.outcomes[tgt.Name()]); f != "1 of 3 runs failed: failed" {
		t.Fatalf("failures = %q", f)
	}
}
