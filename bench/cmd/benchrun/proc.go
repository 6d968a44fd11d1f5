package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/polysock/polysock/bench/servers"
)

// serverProc is one server under test running in its own process.
type serverProc struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
}

// startServer starts the server of kind ("socketio" is the Node program, every other kind
// bench/cmd/benchserver) and waits for its "listening on" line.
func startServer(env *environment, kind string) (*serverProc, error) {
	var cmd *exec.Cmd
	if kind == "socketio" {
		cmd = exec.Command("node", "--expose-gc", "bench/socketio/server.mjs")
	} else {
		cmd = exec.Command(env.serverBin, "-kind", kind)
	}
	cmd.Dir = env.root
	cmd.Stderr = os.Stderr
	base, err := servers.StartProcess(cmd, 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("failed to start the %s server: %w", kind, err)
	}
	return &serverProc{cmd: cmd, base: base}, nil
}

func (p *serverProc) stop() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// mem is the server's GET /mem answer (bench/servers.Mem; Node reports heapUsed as
// heap_inuse and no stack).
type mem struct {
	HeapInuse  float64 `json:"heap_inuse"`
	StackInuse float64 `json:"stack_inuse"`
	RSS        float64 `json:"rss"`
	Sessions   int     `json:"sessions"`
}

func (p *serverProc) mem(ctx context.Context) (mem, error) {
	var m mem
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/mem", nil)
	if err != nil {
		return m, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return m, fmt.Errorf("failed to read the server's memory: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return m, fmt.Errorf("failed to read the server's memory: %w", err)
	}
	return m, nil
}

// awaitSessions polls /mem until the server counts n sessions (or 30 s pass) and returns
// the last reading.
func (p *serverProc) awaitSessions(ctx context.Context, n int) (mem, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := p.mem(ctx)
		if err != nil || m.Sessions >= n || time.Now().After(deadline) {
			if err == nil && m.Sessions < n {
				err = fmt.Errorf("the server counts %d sessions, expected %d", m.Sessions, n)
			}
			return m, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
