package servers

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// StartProcess starts cmd, a server that prints "listening on <base URL>" as its first
// line on stdout (bench/cmd/benchserver, bench/socketio/server.mjs), and returns that base
// URL. When the line does not come within timeout, or is something else, it kills the
// process and fails. The caller kills and waits for the process when done.
func StartProcess(cmd *exec.Cmd, timeout time.Duration) (string, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("failed to start %s: %w", cmd.Path, err)
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	kill := func(err error) (string, error) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", err
	}
	select {
	case l := <-line:
		base, ok := strings.CutPrefix(l, "listening on ")
		if !ok {
			return kill(fmt.Errorf("failed to start %s: first line %q", cmd.Path, l))
		}
		return base, nil
	case <-time.After(timeout):
		return kill(fmt.Errorf("failed to start %s: no address within %v", cmd.Path, timeout))
	}
}
