package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/leakcheck"
	"github.com/polysock/polysock/server"
)

// sjServerEscapes is every character of the protocol's escapable_by_server set from
// U+00FF up, and sjServerEscaped the same string as the protocol wants it on the wire.
var sjServerEscapes, sjServerEscaped = func() (string, string) {
	var raw, esc strings.Builder
	for r := rune(0xff); r <= 0xffff; r++ {
		if r >= 0x200c && r <= 0x200f || r >= 0x2028 && r <= 0x202f || r >= 0x2060 && r <= 0x206f || r >= 0xfff0 {
			raw.WriteRune(r)
			fmt.Fprintf(&esc, `\u%04x`, r)
		}
	}
	return raw.String(), `"` + esc.String() + `"`
}()

// sjNoRawEscapable fails when b holds one of the characters the server must escape.
func sjNoRawEscapable(t *testing.T, what string, b string) {
	t.Helper()
	for _, r := range sjServerEscapes {
		if strings.ContainsRune(b, r) {
			t.Errorf("%s: U+%04X travels unescaped", what, r)
			return
		}
	}
}

// TestSockJSServerEncodes sends every character the server must escape and checks each
// transport's bytes: escaped, and decoding to the message sent.
func TestSockJSServerEncodes(t *testing.T) {
	e := newSJEnv(t, nil, server.SockJSOptions{})
	payload := `["` + sjServerEscapes + `"]`
	wantFrame := "a[" + sjServerEscaped + "]"

	url := "/echo/000/" + sjID()
	e.do("POST", url+"/xhr", "")
	e.do("POST", url+"/xhr_send", payload)
	if _, body := e.do("POST", url+"/xhr", ""); body != wantFrame+"\n" {
		t.Errorf("xhr: got %q, want %q", body, wantFrame+"\n")
	}

	url = "/echo/000/" + sjID()
	r := e.stream("POST", url+"/xhr_streaming")
	r.expect(strings.Repeat("h", 2048) + "\n")
	r.expect("o\n")
	e.do("POST", url+"/xhr_send", payload)
	r.expect(wantFrame + "\n")

	url = "/echo/000/" + sjID()
	r = e.stream("GET", url+"/eventsource")
	r.expect("\r\n")
	r.expect("data: o\r\n\r\n")
	e.do("POST", url+"/xhr_send", payload)
	r.expect("data: " + wantFrame + "\r\n\r\n")

	// htmlfile and jsonp put the frame in a JavaScript string: check it decodes.
	url = "/echo/000/" + sjID()
	e.do("GET", url+"/jsonp?c=cb", "")
	e.do("POST", url+"/jsonp_send", payload, "Content-Type", "text/plain")
	_, body := e.do("GET", url+"/jsonp?c=cb", "")
	sjNoRawEscapable(t, "jsonp", body)
	sjCheckJSFrame(t, "jsonp", strings.TrimSuffix(strings.TrimPrefix(body, "cb("), ");\r\n"), sjServerEscapes)

	url = "/echo/000/" + sjID()
	r = e.stream("GET", url+"/htmlfile?c=cb")
	r.expect(strings.Replace(sjHtmlfileHead, "parent.callback", "parent.cb", 1))
	sjHtmlfilePadding(t, r)
	r.expect("<script>\np(\"o\");\n</script>\r\n")
	e.do("POST", url+"/xhr_send", payload)
	line, err := r.br.ReadString('\n')
	if err != nil || line != "<script>\n" {
		t.Fatalf("htmlfile: %q, %v", line, err)
	}
	line, _ = r.br.ReadString('\n')
	sjNoRawEscapable(t, "htmlfile", line)
	sjCheckJSFrame(t, "htmlfile", strings.TrimSuffix(strings.TrimPrefix(line, "p("), ");\n"), sjServerEscapes)

	c := e.ws("/echo/000/" + sjID() + "/websocket")
	wsExpect(t, c, "o")
	_ = c.WriteMessage(websocket.TextMessage, []byte(payload))
	wsExpect(t, c, wantFrame)
}

// sjCheckJSFrame decodes a frame quoted as a JavaScript string and checks it carries msg.
func sjCheckJSFrame(t *testing.T, what, quoted, msg string) {
	t.Helper()
	var frame string
	if err := json.Unmarshal([]byte(quoted), &frame); err != nil {
		t.Fatalf("%s: %q is no string literal: %v", what, quoted, err)
	}
	var msgs []string
	if !strings.HasPrefix(frame, "a") || json.Unmarshal([]byte(frame[1:]), &msgs) != nil || len(msgs) != 1 || msgs[0] != msg {
		t.Errorf("%s: frame %q does not carry the message", what, frame)
	}
}

// TestSockJSServerDecodes sends characters the way sockjs-client escapes them (\uXXXX,
// surrogate pairs included) and checks the application gets them, and echoes them back.
func TestSockJSServerDecodes(t *testing.T) {
	e := newSJEnv(t, nil, server.SockJSOptions{})
	var esc strings.Builder
	var want []rune
	for _, rg := range [][2]rune{{0, 0x1f}, {0x7f, 0x9f}, {0xad, 0xad}, {0x300, 0x333}, {0x600, 0x604},
		{0x17b4, 0x17b5}, {0x2000, 0x20ff}, {0xfeff, 0xfeff}, {0xfff0, 0xffff}} {
		for r := rg[0]; r <= rg[1]; r++ {
			fmt.Fprintf(&esc, `\u%04x`, r)
			want = append(want, r)
		}
	}
	esc.WriteString(`\ud83d\ude00\"\\/`) // U+1F600 as a surrogate pair, a quote, a backslash, a slash
	want = append(want, 0x1f600, '"', '\\', '/')
	url := "/echo/000/" + sjID()
	e.do("POST", url+"/xhr", "")
	if resp, _ := e.do("POST", url+"/xhr_send", `["`+esc.String()+`"]`); resp.StatusCode != 204 {
		t.Fatalf("xhr_send: %d", resp.StatusCode)
	}
	_, body := e.do("POST", url+"/xhr", "")
	var msgs []string
	if err := json.Unmarshal([]byte(strings.TrimPrefix(strings.TrimSuffix(body, "\n"), "a")), &msgs); err != nil || len(msgs) != 1 {
		t.Fatalf("xhr: %q, %v", body, err)
	}
	if msgs[0] != string(want) {
		t.Errorf("echo differs:\n got %+q\nwant %+q", msgs[0], string(want))
	}
}

func TestSockJSSessionAPI(t *testing.T) {
	e := newSJEnv(t, nil, server.SockJSOptions{})
	id := sjID()
	c := e.ws("/echo/000/" + id + "/websocket")
	wsExpect(t, c, "o")
	s := e.nextSession()
	if s.Transport() != polysock.TransportSockJS || !s.Raw() || s.Protocol() != "" {
		t.Errorf("Transport %q, Raw %v, Protocol %q", s.Transport(), s.Raw(), s.Protocol())
	}
	// The application must not see the SockJS session id (the protocol keeps it hidden).
	if r := s.Request(); r.URL.Path != "/echo" || strings.Contains(r.URL.String(), id) || strings.Contains(r.RequestURI, id) {
		t.Errorf("Request URL %q, RequestURI %q", r.URL, r.RequestURI)
	}

	// Text only: a binary write fails clearly and leaves the session open.
	ctx := context.Background()
	if err := s.Write(ctx, polysock.Binary, []byte{1, 2}); !errors.Is(err, server.ErrTextOnly) {
		t.Errorf("binary Write: %v, want ErrTextOnly", err)
	}
	if err := s.Write(ctx, polysock.Text, []byte("after")); err != nil {
		t.Fatalf("text Write after the binary one: %v", err)
	}
	wsExpect(t, c, `a["after"]`)
	_ = c.WriteMessage(websocket.TextMessage, []byte(`["echo"]`))
	wsExpect(t, c, `a["echo"]`)

	// Close sends the close frame with code and reason and completes cleanly.
	if err := s.Close(3001, "bye <now>"); err != nil {
		t.Errorf("Close: %v", err)
	}
	wsExpect(t, c, `c[3001,"bye \u003cnow\u003e"]`)
	wsExpectClosed(t, c)
	if end := e.nextEnd("echo"); end.err == nil || closeCode(end.err) != 3001 {
		t.Errorf("Read after Close: %v", end.err)
	}
}

// sjSingle serves one SockJS endpoint at /s for handler, with opts.
func sjSingle(t *testing.T, handler func(*server.Session), opts *server.Options, so *server.SockJSOptions) (*server.Server, string) {
	t.Helper()
	srv := server.New(handler, opts)
	hs := httptest.NewServer(srv.SockJSHandler("/s", so))
	t.Cleanup(func() {
		hs.CloseClientConnections()
		ctx, cancel := context.WithTimeout(context.Background(), sjGuard)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return srv, hs.URL
}

func sjDial(t *testing.T, url string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: sjGuard}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(url, "http"), hdr)
	if c != nil {
		_ = c.SetReadDeadline(time.Now().Add(sjGuard))
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

func TestSockJSHandlerReturn(t *testing.T) {
	_, url := sjSingle(t, func(*server.Session) {}, nil, nil)
	c, _, err := sjDial(t, url+"/s/0/"+sjID()+"/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	wsExpect(t, c, "o")
	wsExpect(t, c, `c[1000,""]`)
}

func TestSockJSOriginPolicy(t *testing.T) {
	_, url := sjSingle(t, func(s *server.Session) { <-s.Context().Done() },
		&server.Options{AllowedOrigins: []string{"http://good.example"}}, nil)
	get := func(origin string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", url+"/s/info", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := sjClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for origin, want := range map[string]string{"": "*", url: url, "http://good.example": "http://good.example"} {
		resp := get(origin)
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != want {
			t.Errorf("Origin %q: %d, ACAO %q; want 200, %q", origin, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), want)
		}
	}
	for _, origin := range []string{"http://evil.example", "null", "https://good.example"} {
		if resp := get(origin); resp.StatusCode != 403 {
			t.Errorf("Origin %q: %d, want 403", origin, resp.StatusCode)
		}
		req, _ := http.NewRequest("POST", url+"/s/0/"+sjID()+"/xhr", nil)
		req.Header.Set("Origin", origin)
		if resp, err := sjClient.Do(req); err != nil || resp.StatusCode != 403 {
			t.Errorf("xhr from %q: %v", origin, err)
		} else {
			resp.Body.Close()
		}
		_, resp, err := sjDial(t, url+"/s/0/"+sjID()+"/websocket", http.Header{"Origin": {origin}})
		if err == nil || resp == nil || resp.StatusCode != 403 {
			t.Errorf("WebSocket from %q: %v, want 403", origin, err)
		}
	}
	if c, _, err := sjDial(t, url+"/s/0/"+sjID()+"/websocket", http.Header{"Origin": {url}}); err != nil {
		t.Errorf("same-origin WebSocket: %v", err)
	} else {
		wsExpect(t, c, "o")
	}
}

func TestSockJSServerLimits(t *testing.T) {
	// MaxSessions: the session over the limit is closed with 1013.
	srv, url := sjSingle(t, func(s *server.Session) { <-s.Context().Done() }, &server.Options{MaxSessions: 1}, nil)
	c1, _, err := sjDial(t, url+"/s/0/"+sjID()+"/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	wsExpect(t, c1, "o")
	// sockjs-go sends "o" before the polysock Session is registered: wait for it, so the
	// second session is the one over the limit.
	for deadline := time.Now().Add(sjGuard); srv.Stats().Sessions != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("first SockJS session not registered: %+v", srv.Stats())
		}
	}
	c2, _, err := sjDial(t, url+"/s/0/"+sjID()+"/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	wsExpect(t, c2, "o")
	wsExpect(t, c2, `c[1013,"too many sessions"]`)

	// MaxMessageSize on xhr_send: the session closes with 1009.
	e := newSJEnv(t, &server.Options{InsecureSkipOriginCheck: true, MaxMessageSize: 100}, server.SockJSOptions{})
	u := "/echo/000/" + sjID()
	e.do("POST", u+"/xhr", "")
	e.do("POST", u+"/xhr_send", `["`+strings.Repeat("x", 200)+`"]`)
	if _, body := e.do("POST", u+"/xhr", ""); body != "c[1009,\"message too big\"]\n" {
		t.Errorf("xhr after a message above MaxMessageSize: %q", body)
	}
}

func TestSockJSShutdown(t *testing.T) {
	srv, url := sjSingle(t, func(s *server.Session) { <-s.Context().Done() }, nil, nil)
	c, _, err := sjDial(t, url+"/s/0/"+sjID()+"/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	wsExpect(t, c, "o")
	ctx, cancel := context.WithTimeout(context.Background(), sjGuard)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	wsExpect(t, c, `c[1012,"server shutting down"]`)
	c, _, err = sjDial(t, url+"/s/0/"+sjID()+"/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	wsExpect(t, c, "o")
	wsExpect(t, c, `c[1012,"server shutting down"]`)
	if n := srv.Stats().Sessions; n != 0 {
		t.Errorf("%d sessions after Shutdown", n)
	}
}

// TestSockJSNoGoroutineLeak runs sessions on every kind of receiver and checks that
// nothing is left running once they ended.
func TestSockJSNoGoroutineLeak(t *testing.T) {
	leakcheck.Register(t, sjGuard) // registered first, so it runs after the servers' cleanups
	e := newSJEnv(t, nil, server.SockJSOptions{DisconnectDelay: 100 * time.Millisecond})
	c := e.ws("/echo/000/" + sjID() + "/websocket")
	wsExpect(t, c, "o")
	_ = c.WriteMessage(websocket.TextMessage, []byte(`["x"]`))
	wsExpect(t, c, `a["x"]`)
	c.Close()
	raw := e.ws("/echo/websocket")
	_ = raw.WriteMessage(websocket.TextMessage, []byte("x"))
	wsExpect(t, raw, "x")
	raw.Close()
	url := "/echo/000/" + sjID()
	r := e.stream("POST", url+"/xhr_streaming")
	r.expect(strings.Repeat("h", 2048) + "\n")
	r.expect("o\n")
	e.do("POST", url+"/xhr_send", `["y"]`)
	r.expect("a[\"y\"]\n")
	r.close()
	url = "/echo/000/" + sjID()
	e.do("POST", url+"/xhr", "")
	e.do("POST", url+"/xhr_send", `["z"]`)
	e.do("POST", url+"/xhr", "")
	for range 4 {
		if end := e.nextEnd("echo"); closeCode(end.err) != 1006 || !utf8.ValidString(end.transport) {
			t.Errorf("session end: %v", end.err)
		}
	}
}

// A SockJS session subscribed to a topic gets its text messages, and a binary message,
// which it cannot carry, ends it with 1003 rather than being skipped silently.
func TestSockJSSubscriberAndBinaryPublish(t *testing.T) {
	e := newSJEnv(t, nil, server.SockJSOptions{})
	c := e.ws("/echo/websocket")
	s := e.nextSession()
	ctx := context.Background()
	if err := s.Subscribe(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if err := e.echoSrv.Publish(ctx, "t", polysock.Text, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	wsExpect(t, c, "hi")
	if err := e.echoSrv.Publish(ctx, "t", polysock.Binary, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if end := e.nextEnd("echo"); closeCode(end.err) != polysock.CloseUnsupportedData {
		t.Fatalf("session ended with %v, want 1003", end.err)
	}
}
