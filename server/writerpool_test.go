package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/leakcheck"
	"github.com/polysock/polysock/server"
)

func goroutinesCreated(t *testing.T) uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatal("runtime/metrics has no count of goroutines created")
	}
	return s[0].Value.Uint64()
}

// TestWriterReused shows that a ping-pong session does not start a writer goroutine per
// message: the writer that sent an echo parks in the server's pool and sends the next.
// Every message still arrives, in order. The bound (fewer than half as many goroutines
// as messages) leaves room for a kick that comes before the last writer parked.
func TestWriterReused(t *testing.T) {
	const n = 200
	e := newWSEnv(t, nil, nil)
	c := e.openPS("")
	c.echo(polysock.Text, []byte("warm-up"))
	before := goroutinesCreated(t)
	for i := range n {
		c.echo(polysock.Text, fmt.Appendf(nil, "message %d", i))
	}
	if created := goroutinesCreated(t) - before; created >= n/2 {
		t.Fatalf("%d goroutines started for %d echoed messages, want fewer than %d", created, n, n/2)
	}
}

// TestWriterPoolWithoutShutdown shows that the idle writers of a server that is dropped
// without Shutdown exit by themselves: no goroutine is left once the leak check's wait
// is over.
func TestWriterPoolWithoutShutdown(t *testing.T) {
	leakcheck.Register(t, wsGuard)
	srv := server.New(func(s *server.Session) {
		for {
			typ, data, err := s.Read(s.Context())
			if err != nil {
				return
			}
			if err := s.Write(s.Context(), typ, data); err != nil {
				return
			}
		}
	}, nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wsGuard)
	defer cancel()
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(wsGuard))
	for i := range 10 {
		msg := fmt.Appendf(nil, "raw %d", i)
		if err := ws.WriteMessage(websocket.TextMessage, msg); err != nil {
			t.Fatal(err)
		}
		if _, got, err := ws.ReadMessage(); err != nil || string(got) != string(msg) {
			t.Fatalf("echo %d: %q, %v; want %q", i, got, err, msg)
		}
	}
	_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Fatal("the server did not close the connection")
	}
}
