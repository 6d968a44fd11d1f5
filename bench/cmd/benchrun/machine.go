package main

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// machine describes the machine: CPUs, CPU model, Go and Node versions.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	nodeV := "node not found"
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		nodeV = "node " + strings.TrimSpace(string(out))
	}
	return "machine: " + strconv.Itoa(runtime.NumCPU()) + " CPUs (" + model + "), " + runtime.Version() + " " +
		runtime.GOOS + "/" + runtime.GOARCH + ", " + nodeV
}

// loadAvg returns the three load averages of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// load1 is the 1-minute load average of a loadAvg string (0 when unknown).
func load1(s string) float64 {
	f, _ := strconv.ParseFloat(strings.Fields(s + " 0")[0], 64)
	return f
}
