package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/server"
)

// rawEcho sends one WebSocket message and expects it back with its type.
func rawEcho(t *testing.T, ws *websocket.Conn, typ int, data []byte) {
	t.Helper()
	ws.SetWriteDeadline(timeNowGuard())
	if err := ws.WriteMessage(typ, data); err != nil {
		t.Fatalf("write: %v", err)
	}
	ws.SetReadDeadline(timeNowGuard())
	gotTyp, got, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if gotTyp != typ || string(got) != string(data) {
		t.Fatalf("echo: got type %d %q (%d bytes), want type %d %q (%d bytes)",
			gotTyp, abbrev(got), len(got), typ, abbrev(data), len(data))
	}
}

// A plain WebSocket client (no ps_v) gets a raw session on the same handler: one
// WebSocket message per message, types kept (PROTOCOL.md 2.1).
func TestRawEcho(t *testing.T) {
	e := newWSEnv(t, nil, nil)
	ws := e.mustDial("room=1")
	s := e.session()
	if !s.Raw() || s.Transport() != polysock.TransportWebSocket || s.Protocol() != "" {
		t.Fatalf("raw session: Raw %v, Transport %q, Protocol %q", s.Raw(), s.Transport(), s.Protocol())
	}
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i)
	}
	for _, m := range []struct {
		typ  int
		data []byte
	}{
		{websocket.TextMessage, []byte("hello")},
		{websocket.BinaryMessage, []byte{0, 1, 0xff}},
		{websocket.TextMessage, nil},
		{websocket.BinaryMessage, nil},
		{websocket.TextMessage, []byte("日本語 😀")},
		{websocket.BinaryMessage, big},
	} {
		rawEcho(t, ws, m.typ, m.data)
	}
	// A polysock client on the same server works alongside.
	c := e.openPS("")
	c.echo(polysock.Text, []byte("polysock"))
	rawEcho(t, ws, websocket.TextMessage, []byte("raw again"))
}

// The client's WebSocket close code and reason reach the application, cleanly.
func TestRawClientClose(t *testing.T) {
	e := newWSEnv(t, nil, nil)
	ws := e.mustDial("")
	s := e.session()
	rawEcho(t, ws, websocket.TextMessage, []byte("hi"))
	if err := ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(3001, "client bye")); err != nil {
		t.Fatal(err)
	}
	// The server answers with the same close frame.
	if code, reason := wsCloseOf(t, ws); code != 3001 || reason != "client bye" {
		t.Fatalf("close answer %d %q, want 3001 \"client bye\"", code, reason)
	}
	ce := e.endOf(s.ID())
	if ce.Code != 3001 || ce.Reason != "client bye" || !ce.WasClean {
		t.Fatalf("handler saw %+v, want 3001 \"client bye\", clean", ce)
	}
}

// Session.Close on a raw session is the WebSocket close handshake.
func TestRawServerClose(t *testing.T) {
	closed := make(chan error, 1)
	e := newWSEnv(t, func(e *wsEnv, s *server.Session) {
		_ = s.Write(context.Background(), polysock.Binary, []byte("last"))
		closed <- s.Close(4321, "server bye")
	}, nil)
	ws := e.mustDial("")
	ws.SetReadDeadline(timeNowGuard())
	if typ, data, err := ws.ReadMessage(); err != nil || typ != websocket.BinaryMessage || string(data) != "last" {
		t.Fatalf("got %d %q %v, want the message written before Close", typ, data, err)
	}
	// gorilla answers the close frame when it reads it.
	if code, reason := wsCloseOf(t, ws); code != 4321 || reason != "server bye" {
		t.Fatalf("closed with %d %q, want 4321 \"server bye\"", code, reason)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v, want nil after the client answered", err)
	}
}

// A raw client's subprotocol is negotiated with Sec-WebSocket-Protocol.
func TestRawSubprotocol(t *testing.T) {
	e := newWSEnv(t, nil, &server.Options{Subprotocols: []string{"chat.v2", "chat.v1"}})
	d := &websocket.Dialer{HandshakeTimeout: wsGuard, Subprotocols: []string{"chat.v1", "chat.v2"}}
	ws, resp, err := e.dialWith(d, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The server's preference order decides.
	if ws.Subprotocol() != "chat.v2" || resp.Header.Get("Sec-WebSocket-Protocol") != "chat.v2" {
		t.Fatalf("negotiated %q, want chat.v2", ws.Subprotocol())
	}
	if s := e.session(); s.Protocol() != "chat.v2" || !s.Raw() {
		t.Fatalf("session Protocol %q Raw %v, want chat.v2, raw", s.Protocol(), s.Raw())
	}
	rawEcho(t, ws, websocket.TextMessage, []byte("hi"))

	// None in common: no subprotocol on either side.
	d.Subprotocols = []string{"other"}
	ws, resp, err = e.dialWith(d, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Subprotocol() != "" || resp.Header.Get("Sec-WebSocket-Protocol") != "" {
		t.Fatalf("negotiated %q, want none", ws.Subprotocol())
	}
	if s := e.session(); s.Protocol() != "" {
		t.Fatalf("session Protocol %q, want \"\"", s.Protocol())
	}
}

// The application's handler returning closes the raw session with 1000.
func TestRawHandlerReturn(t *testing.T) {
	e := newWSEnv(t, func(e *wsEnv, s *server.Session) {}, nil)
	ws := e.mustDial("")
	expectWSClose(t, ws, websocket.CloseNormalClosure)
}

// Raw text must be valid UTF-8 like every text message; a raw message above
// MaxMessageSize is too big.
func TestRawBadMessages(t *testing.T) {
	e := newWSEnv(t, nil, &server.Options{MaxMessageSize: 100})
	cases := []struct {
		name string
		typ  int
		data []byte
		code int
	}{
		{"invalid UTF-8 text", websocket.TextMessage, []byte("a\xffb"), polysock.CloseInvalidPayload},
		{"too big", websocket.BinaryMessage, make([]byte, 101), polysock.CloseMessageTooBig},
	}
	healthy := e.mustDial("")
	e.session()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws := e.mustDial("")
			s := e.session()
			rawEcho(t, ws, websocket.BinaryMessage, make([]byte, 100))
			if err := ws.WriteMessage(tc.typ, tc.data); err != nil {
				t.Fatal(err)
			}
			ws.SetReadDeadline(timeNowGuard())
			_, _, err := ws.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != tc.code {
				t.Fatalf("got %v, want close %d", err, tc.code)
			}
			if end := e.endOf(s.ID()); end.Code != tc.code {
				t.Fatalf("handler saw %+v, want %d", end, tc.code)
			}
			rawEcho(t, healthy, websocket.TextMessage, []byte("healthy"))
		})
	}
}

// The raw session's Request has the opening request's URL and headers.
func TestRawRequest(t *testing.T) {
	e := newWSEnv(t, nil, nil)
	ws, _, err := e.dial("room=blue", http.Header{"X-App": {"yes"}})
	if err != nil {
		t.Fatal(err)
	}
	s := e.session()
	r := s.Request()
	if r.URL.Path != "/rt" || r.URL.Query().Get("room") != "blue" || r.Header.Get("X-App") != "yes" {
		t.Fatalf("Request: path %q query %q header %q", r.URL.Path, r.URL.RawQuery, r.Header.Get("X-App"))
	}
	if !strings.HasPrefix(r.RemoteAddr, "127.0.0.1:") {
		t.Fatalf("RemoteAddr %q", r.RemoteAddr)
	}
	rawEcho(t, ws, websocket.TextMessage, []byte("x"))
}
