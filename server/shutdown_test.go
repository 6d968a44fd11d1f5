package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// Shutdown tells the client of every HTTP session to go elsewhere with 1012: a held
// stream and a held poll get CLOSE 1012 (which their clients answer, so Shutdown returns
// nil), and a session between polls learns it from its next request (503 / 1012). The
// env's leak check asserts that nothing is left running. (TestShutdown covers WebSocket.)
func TestShutdownHTTPTransports(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	stream := e.newHTClient(false, transports.EncodingText)
	held := e.newHTClient(true, transports.EncodingBinary)
	between := e.newHTClient(true, transports.EncodingBinary)
	for _, c := range []*htClient{stream, held, between} {
		c.send(polysock.Text, []byte("before"))
		if f := c.nextData(); string(f.Data) != "before" {
			t.Fatalf("echo %q", f.Data)
		}
	}
	// The held poll: its GET waits in the server until the shutdown answers it.
	type pollAnswer struct {
		status int
		body   []byte
		err    error
	}
	polled := make(chan pollAnswer, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), htGuard)
		defer cancel()
		resp := e.do(ctx, http.MethodGet, held.getQuery(), nil, nil)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		polled <- pollAnswer{resp.StatusCode, b, err}
	}()
	htWaitFor(t, "the poll to be held", func() bool {
		e.srv.mu.Lock()
		s := e.srv.sessions[held.sid]
		e.srv.mu.Unlock()
		return s != nil && carrierOf(s) != nil
	})
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), htGuard)
		defer cancel()
		done <- e.srv.Shutdown(ctx)
	}()
	// The stream gets CLOSE 1012 and answers it.
	if f := stream.nextFrame(); f.Type != wire.TypeClose || f.Code != wire.CloseServiceRestart {
		t.Fatalf("stream got %v %d, want CLOSE 1012", f.Type, f.Code)
	}
	stream.post(wire.Frame{Type: wire.TypeClose, Code: wire.CloseServiceRestart})
	// The held poll is answered with CLOSE 1012, and answers it.
	a := <-polled
	if a.err != nil || a.status != http.StatusOK {
		t.Fatalf("held poll: %d %v", a.status, a.err)
	}
	frames, err := newFrameReader(transports.EncodingBinary, bytes.NewReader(a.body)).all()
	if err != nil || len(frames) == 0 || frames[len(frames)-1].Type != wire.TypeClose || frames[len(frames)-1].Code != wire.CloseServiceRestart {
		t.Fatalf("held poll answered %v (%v), want CLOSE 1012 last", frames, err)
	}
	held.post(wire.Frame{Type: wire.TypeClose, Code: wire.CloseServiceRestart})
	if err := <-done; err != nil {
		t.Fatalf("Shutdown = %v, want nil once every client answered", err)
	}
	// The session between polls ended at once; its next poll is told to go elsewhere.
	expectError(t, e.roundTrip(http.MethodGet, between.getQuery(), nil, nil), http.StatusServiceUnavailable, wire.CloseServiceRestart)
	if st := e.srv.Stats(); st.Sessions != 0 {
		t.Fatalf("%d sessions after Shutdown", st.Sessions)
	}
	for range 3 {
		if code := e.endCode(); code != polysock.CloseServiceRestart {
			t.Fatalf("a handler saw its session end with %d, want 1012", code)
		}
	}
}
