package main

import (
	"fmt"
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
