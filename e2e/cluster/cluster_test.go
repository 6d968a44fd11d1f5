package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/client"
	"github.com/polysock/polysock/internal/chattest"
	"github.com/polysock/polysock/internal/redistest"
	"github.com/polysock/polysock/internal/rrproxy"
)

// guard bounds each wait of the test: a hang guard, never a timing assertion.
const guard = 45 * time.Second

// proc is a running node.
type proc struct {
	id     string
	url    string
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// buildNode compiles ./node into a temporary directory.
func buildNode(t *testing.T) string {
	t.Helper()
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	bin := filepath.Join(t.TempDir(), "node")
	out, err := exec.Command(goCmd, "build", "-o", bin, "./node").CombinedOutput()
	if err != nil {
		t.Fatalf("failed to build the node: %v\n%s", err, out)
	}
	return bin
}

// startNode runs the node binary and waits for its "ready <url>" line.
func startNode(t *testing.T, bin, redisAddr, id string) *proc {
	t.Helper()
	p := &proc{id: id, exited: make(chan struct{}), stderr: &lockedBuffer{}}
	p.cmd = exec.Command(bin, "-addr", "127.0.0.1:0", "-redis", redisAddr, "-node", id)
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("failed to start node %s: %v", id, err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- u
			}
		}
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("node %s stderr:\n%s", id, p.stderr.String())
		}
	})
	select {
	case p.url = <-ready:
	case <-p.exited:
		t.Fatalf("node %s exited: %s", id, p.stderr.String())
	case <-time.After(guard):
		t.Fatalf("node %s did not start", id)
	}
	return p
}

// member is one chat client and what it received.
type member struct {
	i     int
	c     *client.Conn
	node  string // the node that owns its session
	got   []string
	fence int   // the index of the fence message in got
	end   error // the error that ended its reading
}

func (m *member) String() string {
	return fmt.Sprintf("client %d (%s on %s)", m.i, m.c.Transport(), m.node)
}

// Three nodes behind a round-robin proxy without stickiness; two clients per transport
// chat in one room: 10,000 messages reach every client exactly once, in one order. Then
// a node is killed while they chat: its clients end with 4004 (their replay state died
// with it) after an in-order prefix, and the others lose nothing.
func TestClusterOfProcesses(t *testing.T) {
	redisAddr := redistest.Start(t)
	start := time.Now()
	bin := buildNode(t)
	t.Logf("node built in %v", time.Since(start))
	nodes := map[string]*proc{}
	var urls []string
	for _, id := range []string{"n1", "n2", "n3"} {
		p := startNode(t, bin, redisAddr, id)
		nodes[id] = p
		urls = append(urls, p.url)
	}
	proxy, err := rrproxy.New(urls...)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(proxy)
	// Cleanups run last first: the clients' (registered by dial) before these.
	t.Cleanup(front.Close)
	t.Cleanup(proxy.CloseIdleConnections)

	ctx, cancel := context.WithTimeout(context.Background(), 2*guard)
	defer cancel()
	var members []*member
	dial := func(transport string) {
		c, err := client.Dial(ctx, front.URL, &client.Options{Transports: []string{transport}})
		if err != nil {
			t.Fatalf("dial %s: %v", transport, err)
		}
		t.Cleanup(func() { _ = c.Close(1000, "") })
		if _, data, err := c.Read(ctx); err != nil || string(data) != chattest.Ready {
			t.Fatalf("first message %q, %v", data, err)
		}
		node, _, _ := strings.Cut(c.SessionID(), "_")
		members = append(members, &member{i: len(members), c: c, node: node})
	}
	for _, tr := range []string{"websocket", "stream", "poll", "websocket", "stream", "poll"} {
		dial(tr)
	}
	// The kill needs a node that owns some sessions but not all: open more sessions
	// until there is one (round robin makes it nearly certain at once).
	victim := ""
	for victim == "" {
		owned := map[string]int{}
		for _, m := range members {
			owned[m.node]++
		}
		for id, n := range owned {
			if n < len(members) && (victim == "" || id < victim) {
				victim = id
			}
		}
		if victim == "" {
			if len(members) >= 12 {
				t.Fatalf("every session opened on one node: %v", owned)
			}
			dial([]string{"websocket", "stream", "poll"}[len(members)%3])
		}
	}

	// Phase 1: 10,000 messages.
	const total = 10000
	start = time.Now()
	phase(t, ctx, members, "a", total, nil)
	t.Logf("phase a took %v", time.Since(start))

	// Phase 2: each client sends 300 more; the victim is killed when a surviving client
	// has received 100 of them.
	kill := func() {
		p := nodes[victim]
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Errorf("kill: %v", err)
		}
		<-p.exited
		proxy.Remove(p.url) // the load balancer's health check
	}
	phase(t, ctx, members, "b", 300*len(members), &killPlan{victim: victim, after: 100, kill: kill})
}

type killPlan struct {
	victim string
	after  int
	kill   func()
}

// phase has every member send its share of n messages "<tag><i>.<k>" and checks what
// every member receives: with no kill, all n, each sender's in order, and the same order
// for everyone. With a kill: the victim's clients end with 4004 after an in-order
// prefix of each sender's messages; the others receive every survivor's messages, an
// in-order prefix of each victim client's, and one same order, up to a fence message
// sent once the kill is over.
func phase(t *testing.T, ctx context.Context, members []*member, tag string, n int, k *killPlan) {
	t.Helper()
	share := func(i int) int {
		s := n / len(members)
		if i < n%len(members) {
			s++
		}
		return s
	}
	fence := tag + "-fence"
	var wg sync.WaitGroup
	for _, m := range members {
		m.got, m.end, m.fence = nil, nil, 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range share(m.i) {
				if err := m.c.Write(ctx, polysock.Text, fmt.Appendf(nil, "%s%d.%d", tag, m.i, j)); err != nil {
					if k == nil || m.node != k.victim {
						t.Errorf("%v: write: %v", m, err)
					}
					return
				}
			}
		}()
	}
	survivor := func(m *member) bool { return k == nil || m.node != k.victim }
	var expect int // messages every survivor must receive before the fence
	for _, m := range members {
		if survivor(m) {
			expect += share(m.i)
		}
	}
	killed := make(chan struct{})
	var once sync.Once
	if k == nil {
		close(killed)
	}
	var rg sync.WaitGroup
	for _, m := range members {
		rg.Add(1)
		go func() {
			defer rg.Done()
			fromSurvivors, fenced := 0, false
			for {
				if k != nil && survivor(m) && fromSurvivors >= k.after {
					once.Do(func() { k.kill(); close(killed) })
				}
				if (k == nil && len(m.got) == n) || (fenced && fromSurvivors == expect) {
					return
				}
				_, data, err := m.c.Read(ctx)
				if err != nil {
					m.end = err
					return
				}
				s := string(data)
				if s == fence {
					fenced = true
					m.fence = len(m.got)
				}
				m.got = append(m.got, s)
				var from, j int
				if _, err := fmt.Sscanf(s, tag+"%d.%d", &from, &j); err == nil && survivor(members[from]) {
					fromSurvivors++
				}
			}
		}()
	}
	wg.Wait() // every survivor's messages are sent (and acknowledged by its node)
	<-killed
	if k != nil {
		// The victim's clients learn that their sessions are gone before the fence goes
		// out, so nothing of theirs can follow it.
		for _, m := range members {
			if !survivor(m) {
				waitEnd(t, ctx, m)
			}
		}
		for _, m := range members {
			if survivor(m) {
				if err := m.c.Write(ctx, polysock.Text, []byte(fence)); err != nil {
					t.Fatalf("%v: fence: %v", m, err)
				}
				break
			}
		}
	}
	rg.Wait()
	var ref *member
	for _, m := range members {
		if !survivor(m) {
			var ce *polysock.CloseError
			if !errors.As(m.end, &ce) || ce.Code != polysock.CloseUnknownSession {
				t.Errorf("%v: ended with %v, want close 4004", m, m.end)
			}
			checkPrefixes(t, m, members, tag, share, nil)
			continue
		}
		if m.end != nil {
			t.Fatalf("%v: %v after %d messages", m, m.end, len(m.got))
		}
		checkPrefixes(t, m, members, tag, share, survivor)
		if got := len(m.got); k == nil && got != n {
			t.Fatalf("%v: %d messages, want %d", m, got, n)
		}
		if ref == nil {
			ref = m
		} else if strings.Join(m.got, ",") != strings.Join(ref.got, ",") {
			t.Fatalf("%v and %v received different orders", ref, m)
		}
	}
	t.Logf("phase %s: %d messages sent by survivors, %d received by each survivor", tag, expect, len(ref.got))
	for _, m := range members {
		if !survivor(m) {
			t.Logf("phase %s: %v ended with %v after %d messages", tag, m, m.end, len(m.got))
		}
	}
}

// waitEnd waits until m's Read reports the end of its session (the reader goroutine
// records it); the victim's clients keep reading until then.
func waitEnd(t *testing.T, ctx context.Context, m *member) {
	t.Helper()
	select {
	case <-m.c.Context().Done():
	case <-ctx.Done():
		t.Fatalf("%v: the session did not end after its node died", m)
	}
}

// checkPrefixes checks that m received each sender's messages in order, without gap or
// duplicate: all of them from the senders complete reports true for, a prefix from the
// others.
func checkPrefixes(t *testing.T, m *member, members []*member, tag string, share func(int) int, complete func(*member) bool) {
	t.Helper()
	next := make([]int, len(members))
	for i, s := range m.got {
		if strings.HasSuffix(s, "-fence") {
			continue
		}
		var from, j int
		if _, err := fmt.Sscanf(s, tag+"%d.%d", &from, &j); err != nil || from >= len(members) || j != next[from] {
			t.Fatalf("%v: got %q, want %s%d.%d", m, s, tag, from, next[from])
		}
		if complete != nil && !complete(members[from]) && i > m.fence {
			t.Fatalf("%v: %q of a dead node's client came after the fence", m, s)
		}
		next[from]++
	}
	if complete == nil {
		return
	}
	for i, o := range members {
		if complete(o) && next[i] != share(i) {
			t.Fatalf("%v: %d of %v's %d messages", m, next[i], o, share(i))
		}
	}
}
