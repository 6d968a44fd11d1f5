package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Session tokens never reach the logs, at debug level, across opening, resuming, wrong
// tokens, failed sessions, lost carriers and a panicking handler on HTTP and WebSocket;
// nor the application's view of the opening request.
func TestTokensNotLogged(t *testing.T) {
	var logs syncBuffer
	var reqMu sync.Mutex
	var reqs []string
	e := newHTEnv(t, func(e *htEnv, s *Session) {
		reqMu.Lock()
		reqs = append(reqs, s.Request().URL.String(), s.Request().RequestURI)
		reqMu.Unlock()
		_, data, err := s.Read(context.Background())
		if err == nil && string(data) == "panic" {
			panic("handler panics on purpose")
		}
		if err == nil {
			_ = s.Write(context.Background(), polysock.Text, data)
			htEcho(e, s)
		}
	}, &Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	var tokens []string

	// HTTP: open, echo, resume on a stream, a wrong token, a panicking handler.
	c := e.newHTClient(true, transports.EncodingText)
	tokens = append(tokens, c.tok)
	c.send(polysock.Text, []byte("hello"))
	if f := c.nextData(); string(f.Data) != "hello" {
		t.Fatalf("echo %q", f.Data)
	}
	c.poll = false
	c.openStream()
	c.send(polysock.Text, []byte("on the stream"))
	if f := c.nextData(); string(f.Data) != "on the stream" {
		t.Fatalf("echo %q", f.Data)
	}
	wrong := query(wire.ParamVersion, "1", wire.ParamSession, c.sid, wire.ParamToken, c.tok+"x")
	expectError(t, e.roundTrip(http.MethodPost, wrong, http.Header{"Content-Type": {wire.ContentTypeText}}, nil), http.StatusNotFound, wire.CloseUnknownSession)
	// A session that fails (invalid UTF-8: 1007) logs its end.
	expectError(t, c.postRaw(wire.ContentTypeBinary, postBody(transports.EncodingBinary, c.msg(polysock.Text, []byte("\xff")))),
		http.StatusBadRequest, wire.CloseInvalidPayload)
	c.stop()
	p := e.newHTClient(true, transports.EncodingText)
	tokens = append(tokens, p.tok)
	p.send(polysock.Text, []byte("panic"))

	// WebSocket: open, resume, a lost carrier, a protocol error.
	wsURL := "ws" + strings.TrimPrefix(e.hs.URL, "http") + "/rt?"
	dialOpen := func(q string) (*websocket.Conn, wire.Open) {
		t.Helper()
		ws, _, err := websocket.DefaultDialer.Dial(wsURL+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = ws.SetReadDeadline(time.Now().Add(htGuard))
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		f, _, err := wire.DecodeBinary(b)
		if err != nil || f.Type != wire.TypeOpen {
			t.Fatalf("first frame %v %v, want OPEN", f.Type, err)
		}
		o, err := wire.DecodeOpen(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		return ws, o
	}
	ws, o := dialOpen("ps_v=1")
	tokens = append(tokens, o.Token)
	ws.Close() // lost carrier
	ws, _ = dialOpen(query(wire.ParamVersion, "1", wire.ParamSession, o.Session, wire.ParamToken, o.Token, wire.ParamAck, "0"))
	_ = ws.WriteMessage(websocket.BinaryMessage, []byte{0xff, 0xff, 0xff}) // not a frame: 1002
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Log("read after a malformed batch succeeded") // a CLOSE may come first; the end is what matters
	}
	ws.Close()
	htWaitFor(t, "every session to end", func() bool { return e.srv.Stats().Sessions == 0 })

	out := logs.String()
	for _, want := range []string{"session failed", "handler panicked"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the logs lack %q; they are:\n%s", want, out)
		}
	}
	reqMu.Lock()
	seen := strings.Join(reqs, "\n")
	reqMu.Unlock()
	for _, tok := range tokens {
		if strings.Contains(out, tok) {
			t.Fatalf("a session token is in the logs:\n%s", out)
		}
		if strings.Contains(seen, tok) {
			t.Fatalf("a session token is in the request the application sees:\n%s", seen)
		}
	}
	if strings.Contains(out, wire.ParamToken) {
		t.Fatalf("%s is in the logs:\n%s", wire.ParamToken, out)
	}
}
