package server_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock/server"
)

func TestSockJSWebSocket(t *testing.T) {
	e := newSJEnv(t, nil, server.SockJSOptions{})
	url := "/echo/000/" + sjID() + "/websocket"
	c := e.ws(url)
	wsExpect(t, c, "o")
	for _, m := range []string{"", "[]", `["a"]`} { // empty messages and frames are ignored
		if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	wsExpect(t, c, `a["a"]`)
	if s := e.nextSession(); s.Transport() != "sockjs" {
		t.Errorf("Transport %q", s.Transport())
	}

	// Another connection may reuse the session id while the first one is open, and after.
	c2 := e.ws(url)
	wsExpect(t, c2, "o")
	_ = c2.WriteMessage(websocket.TextMessage, []byte(`["b"]`))
	wsExpect(t, c2, `a["b"]`)
	_ = c.WriteMessage(websocket.TextMessage, []byte(`["c"]`))
	wsExpect(t, c, `a["c"]`)
	c.Close()
	c2.Close()
	c = e.ws(url)
	wsExpect(t, c, "o")
	_ = c.WriteMessage(websocket.TextMessage, []byte(`["d"]`))
	wsExpect(t, c, `a["d"]`)

	// Broken JSON ends the connection abruptly.
	_ = c.WriteMessage(websocket.TextMessage, []byte(`["a`))
	wsExpectClosed(t, c)

	// The close service: o, the close frame, then the end.
	c = e.ws("/close/000/" + sjID() + "/websocket")
	wsExpect(t, c, "o")
	wsExpect(t, c, `c[3000,"Go away!"]`)
	wsExpectClosed(t, c)
	if end := e.nextEnd("close"); end.err != nil || end.transport != "sockjs" {
		t.Errorf("Close on the server: %v (%q)", end.err, end.transport)
	}
}

func TestSockJSWebSocketHTTPErrors(t *testing.T) {
	e := newSJEnv(t, nil, server.SockJSOptions{})
	resp, body := e.do("GET", "/echo/0/0/websocket", "")
	if resp.StatusCode != 400 || !strings.Contains(body, `Can "Upgrade" only to "WebSocket".`) {
		t.Errorf("plain GET: %d %q", resp.StatusCode, body)
	}
	resp, body = e.do("GET", "/echo/0/0/websocket", "", "Upgrade", "WebSocket", "Connection", "close")
	if resp.StatusCode != 400 || !strings.Contains(body, `"Connection" must be "Upgrade".`) {
		t.Errorf("Connection: close: %d %q", resp.StatusCode, body)
	}
	for _, hdr := range [][]string{{"Upgrade", "WebSocket", "Connection", "Upgrade"}, nil} {
		resp, body := e.do("POST", "/echo/0/0/websocket", "", hdr...)
		if resp.StatusCode != 405 || resp.Header.Get("Content-Type") != "" || resp.Header.Get("Allow") == "" || body != "" {
			t.Errorf("POST %v: %d, Content-Type %q, Allow %q, body %q", hdr, resp.StatusCode,
				resp.Header.Get("Content-Type"), resp.Header.Get("Allow"), body)
		}
	}
	if resp, _ := e.do("GET", "/disabled_websocket_echo/0/0/websocket", "", "Upgrade", "websocket", "Connection", "Upgrade"); resp.StatusCode != 404 {
		t.Errorf("disabled WebSocket: %d, want 404", resp.StatusCode)
	}
}

// TestSockJSWebSocketHandshake checks the handshake's headers, as the protocol's
// headersSanity and Firefox 6 tests do.
func TestSockJSWebSocketHandshake(t *testing.T) {
	e := newSJEnv(t, nil, server.SockJSOptions{})
	for _, connection := range []string{"Upgrade", "keep-alive, Upgrade"} {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(e.url, "http://"), sjGuard)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(sjGuard))
		req, _ := http.NewRequest("GET", e.url+"/echo/000/"+sjID()+"/websocket", nil)
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Connection", connection)
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "x3JJHMbDL1EzLkh9GBhXDw==")
		if err := req.Write(conn); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "HSmrc0sMlYUkAGmm5OPpG2HaGWk=" ||
			strings.ToLower(resp.Header.Get("Connection")) != "upgrade" || strings.ToLower(resp.Header.Get("Upgrade")) != "websocket" ||
			resp.Header.Get("Content-Length") != "" {
			t.Errorf("Connection %q: %d %v", connection, resp.StatusCode, resp.Header)
		}
		conn.Close()
	}
}

// splitConn writes one byte at a time, so that the server reads frames in pieces.
type splitConn struct{ net.Conn }

func (c splitConn) Write(p []byte) (int, error) {
	for i := range p {
		if _, err := c.Conn.Write(p[i : i+1]); err != nil {
			return i, err
		}
	}
	return len(p), nil
}

// TestSockJSWebSocketSplitFrames sends frames one byte per TCP write: empty messages are
// still dropped, and everything else arrives intact, including a 64-bit length frame.
func TestSockJSWebSocketSplitFrames(t *testing.T) {
	e := newSJEnv(t, nil, server.SockJSOptions{})
	d := websocket.Dialer{
		HandshakeTimeout: sjGuard,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return splitConn{c}, nil
		},
	}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/echo/000/"+sjID()+"/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(sjGuard))
	wsExpect(t, c, "o")
	big := strings.Repeat("z", 70000)
	for _, m := range []string{"", `["a"]`, "", "", `["` + big + `"]`, `["\u2028\u200c"]`, ""} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WriteMessage(websocket.PingMessage, nil); err != nil {
		t.Fatal(err)
	}
	_ = c.WriteMessage(websocket.TextMessage, []byte(`["b"]`))
	wsExpect(t, c, `a["a"]`)
	wsExpect(t, c, `a["`+big+`"]`)
	wsExpect(t, c, `a["\u2028\u200c"]`)
	wsExpect(t, c, `a["b"]`)
}

func TestSockJSWebSocketLimits(t *testing.T) {
	e := newSJEnv(t, &server.Options{InsecureSkipOriginCheck: true, MaxMessageSize: 100, MaxBatchSize: 1000}, server.SockJSOptions{})
	// A WebSocket message above MaxBatchSize ends the connection before it is read.
	c := e.ws("/echo/000/" + sjID() + "/websocket")
	wsExpect(t, c, "o")
	_ = c.WriteMessage(websocket.TextMessage, []byte(`["`+strings.Repeat("x", 2000)+`"]`))
	wsExpectClosed(t, c)
	if end := e.nextEnd("echo"); closeCode(end.err) != 1006 {
		t.Errorf("the Session ended with %v, want 1006", end.err)
	}

	// A message above MaxMessageSize (in a smaller frame) closes the session with 1009.
	c = e.ws("/echo/000/" + sjID() + "/websocket")
	wsExpect(t, c, "o")
	_ = c.WriteMessage(websocket.TextMessage, []byte(`["`+strings.Repeat("x", 200)+`"]`))
	wsExpect(t, c, `c[1009,"message too big"]`)
	wsExpectClosed(t, c)

	// The same bounds on xhr_send: 413 for a body above MaxBatchSize.
	url := "/echo/000/" + sjID()
	e.do("POST", url+"/xhr", "")
	if resp, body := e.do("POST", url+"/xhr_send", `["`+strings.Repeat("x", 2000)+`"]`); resp.StatusCode != 413 {
		t.Errorf("xhr_send above the limit: %d %q", resp.StatusCode, body)
	}
}

func TestSockJSRawWebSocket(t *testing.T) {
	e := newSJEnv(t, nil, server.SockJSOptions{})
	c := e.ws("/echo/websocket")
	for _, m := range []string{"Hello world!\uffff", "", "\u2028"} { // no SockJS framing, no escaping
		_ = c.WriteMessage(websocket.TextMessage, []byte(m))
		wsExpect(t, c, m)
	}
	if s := e.nextSession(); s.Transport() != "sockjs" {
		t.Errorf("Transport %q", s.Transport())
	}
	// Invalid UTF-8 ends the session with 1007.
	_ = c.WriteMessage(websocket.BinaryMessage, []byte{0xff, 0xfe})
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, 1007) {
		t.Errorf("after invalid UTF-8: %v, want close 1007", err)
	}

	c = e.ws("/close/websocket")
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !asCloseError(err, &ce) || ce.Code != 3000 || ce.Text != "Go away!" {
		t.Errorf("/close/websocket: %v, want close 3000 \"Go away!\"", err)
	}
	if resp, _ := e.do("GET", "/disabled_websocket_echo/websocket", "", "Upgrade", "websocket", "Connection", "Upgrade"); resp.StatusCode != 404 {
		t.Errorf("raw WebSocket where it is off: %d, want 404", resp.StatusCode)
	}
}

func asCloseError(err error, ce **websocket.CloseError) bool {
	c, ok := err.(*websocket.CloseError)
	*ce = c
	return ok
}
