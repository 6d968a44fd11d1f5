package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// expectSessionEnd waits for the handler to see the session end with code.
func expectSessionEnd(t *testing.T, e *htEnv, code int) {
	t.Helper()
	if got := e.endCode(); got != code {
		t.Fatalf("session ended with %d, want %d", got, code)
	}
}

func TestHTTPPostGap(t *testing.T) {
	for _, form := range []transports.Encoding{transports.EncodingBinary, transports.EncodingText} {
		t.Run(encNames[form], func(t *testing.T) {
			e := newHTEnv(t, nil, nil)
			c := e.newHTClient(false, form)
			a := c.postRaw(form.ContentType(), c.encodePost(wire.Frame{Type: wire.TypeText, Seq: 2, Data: []byte("skipped one")}))
			expectError(t, a, http.StatusBadRequest, wire.CloseProtocolError)
			expectSessionEnd(t, e, polysock.CloseProtocolError)
			if f := c.nextFrame(); f.Type != wire.TypeClose || f.Code != wire.CloseProtocolError {
				t.Fatalf("stream got %v %d, want CLOSE 1002", f.Type, f.Code)
			}
			expectError(t, c.postRaw(form.ContentType(), nil), http.StatusNotFound, wire.CloseUnknownSession)
		})
	}
}

func TestHTTPPostDuplicate(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	c := e.newHTClient(true, transports.EncodingText)
	body := c.encodePost(c.msg(polysock.Text, []byte("once")))
	for range 3 { // a retried POST: the same body again
		if ack := c.expectAck(c.postRaw(wire.ContentTypeText, body)); ack != 1 {
			t.Fatalf("ACK %d, want 1", ack)
		}
	}
	c.send(polysock.Text, []byte("twice"))
	for _, want := range []string{"once", "twice"} {
		if f := c.nextData(); string(f.Data) != want {
			t.Fatalf("echo %d %q, want %q", f.Seq, f.Data, want)
		}
	}
	if c.srvAck != 2 {
		t.Fatalf("server ACK %d, want 2", c.srvAck)
	}
}

func TestHTTPPostTruncated(t *testing.T) {
	for _, form := range []transports.Encoding{transports.EncodingBinary, transports.EncodingText} {
		t.Run(encNames[form], func(t *testing.T) {
			e := newHTEnv(t, nil, nil)
			c := e.newHTClient(true, form)
			body := c.encodePost(c.msg(polysock.Text, []byte("hello")))
			body = body[:len(body)-3] // the body ends inside the frame
			expectError(t, c.postRaw(form.ContentType(), body), http.StatusBadRequest, wire.CloseProtocolError)
			expectSessionEnd(t, e, polysock.CloseProtocolError)
		})
	}
}

// A request cut short on the network (the body ends before its Content-Length) is not
// processed; the session goes on and the client sends the batch again.
func TestHTTPPostCutRequest(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	c := e.newHTClient(true, transports.EncodingBinary)
	body := c.encodePost(c.msg(polysock.Text, []byte("hello")))
	conn, err := net.Dial("tcp", e.hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(htGuard))
	fmt.Fprintf(conn, "POST /rt?%s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		c.postQuery(), e.hs.Listener.Addr(), wire.ContentTypeBinary, len(body)+10)
	if _, err := conn.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	resp.Body.Close()
	expectError(t, answer{resp.StatusCode, resp.Header, b.Bytes()}, http.StatusBadRequest, wire.CloseProtocolError)
	if ack := c.expectAck(c.postRaw(wire.ContentTypeBinary, body)); ack != 1 {
		t.Fatalf("ACK of the batch sent again: %d", ack)
	}
	if f := c.nextData(); string(f.Data) != "hello" {
		t.Fatalf("echo %q", f.Data)
	}
}

func TestHTTPPostContentType(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	c := e.newHTClient(true, transports.EncodingBinary)
	body := c.encodePost(wire.Frame{Type: wire.TypeAck, Seq: 0})
	for _, ct := range []string{"", "application/json", "text/plain; charset=latin1", "text/html", "multipart/form-data; boundary=x"} {
		expectError(t, c.postRaw(ct, body), http.StatusUnsupportedMediaType, wire.CloseUnsupportedData)
	}
	// The session goes on, and both forms in their other spellings are accepted.
	c.postForm = transports.EncodingText
	for _, ct := range []string{"text/plain", "text/plain;charset=UTF-8", "text/plain; charset=utf-8"} {
		c.expectAck(c.postRaw(ct, []byte("a0\n")))
	}
	c.postForm = transports.EncodingBinary
	c.expectAck(c.postRaw("Application/Octet-Stream", body))
}

func TestHTTPPostTooBig(t *testing.T) {
	e := newHTEnv(t, nil, &Options{MaxBatchSize: 1000})
	c := e.newHTClient(true, transports.EncodingBinary)
	if c.open.MaxBody != 1000 {
		t.Fatalf("OPEN maxBody %d", c.open.MaxBody)
	}
	body := c.encodePost(c.msg(polysock.Binary, make([]byte, 1000)))
	expectError(t, c.postRaw(wire.ContentTypeBinary, body), http.StatusRequestEntityTooLarge, wire.CloseMessageTooBig)
	expectSessionEnd(t, e, polysock.CloseMessageTooBig)
}

func TestHTTPPostInvalidUTF8(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	c := e.newHTClient(false, transports.EncodingBinary)
	body := c.encodePost(c.msg(polysock.Text, []byte("ok \xff")))
	expectError(t, c.postRaw(wire.ContentTypeBinary, body), http.StatusBadRequest, wire.CloseInvalidPayload)
	expectSessionEnd(t, e, polysock.CloseInvalidPayload)
	if f := c.nextFrame(); f.Type != wire.TypeClose || f.Code != wire.CloseInvalidPayload {
		t.Fatalf("stream got %v %d, want CLOSE 1007", f.Type, f.Code)
	}
}

func TestHTTPPostEmptyBody(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	c := e.newHTClient(true, transports.EncodingText)
	c.send(polysock.Text, []byte("x"))
	if ack := c.expectAck(c.postRaw(wire.ContentTypeText, nil)); ack != 1 {
		t.Fatalf("empty POST answered ACK %d, want 1", ack)
	}
}

func TestHTTPSessionErrors(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	c := e.newHTClient(true, transports.EncodingBinary)
	other := randomID()
	ct := http.Header{"Content-Type": {wire.ContentTypeBinary}}
	for _, tc := range []struct {
		name     string
		sid, tok string
		status   int
		code     uint16
	}{
		{"absent token", c.sid, "", http.StatusBadRequest, wire.CloseBadRequest},
		{"wrong token", c.sid, other, http.StatusNotFound, wire.CloseUnknownSession},
		{"unknown session", other, c.tok, http.StatusNotFound, wire.CloseUnknownSession},
		{"bad session id", "not/an/id", c.tok, http.StatusBadRequest, wire.CloseBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kv := []string{"ps_v", "1", "ps_sid", tc.sid, "ps_ack", "0"}
			if tc.tok != "" {
				kv = append(kv, "ps_tok", tc.tok)
			}
			expectError(t, e.roundTrip(http.MethodPost, query(kv...), ct, nil), tc.status, tc.code)
			for _, get := range []string{"ps_t=poll&ps_e=bin", "ps_t=poll&ps_e=text", "ps_t=stream&ps_e=bin", "ps_t=stream&ps_e=text"} {
				expectError(t, e.roundTrip(http.MethodGet, query(kv...)+"&"+get, nil, nil), tc.status, tc.code)
			}
			a := e.roundTrip(http.MethodGet, query(kv...)+"&ps_t=stream&ps_e=sse", nil, nil)
			expectSSEError(t, a, tc.code)
		})
	}
	expectError(t, e.roundTrip(http.MethodPost, query("ps_v", "1"), ct, nil), http.StatusBadRequest, wire.CloseBadRequest)
	// A resuming GET must say what the client accepted (PROTOCOL.md section 2).
	for _, get := range []string{"ps_t=poll&ps_e=bin", "ps_t=stream&ps_e=bin"} {
		noAck := query("ps_v", "1", "ps_sid", c.sid, "ps_tok", c.tok) + "&" + get
		expectError(t, e.roundTrip(http.MethodGet, noAck, nil, nil), http.StatusBadRequest, wire.CloseBadRequest)
	}
	// The session is unharmed.
	c.send(polysock.Text, []byte("still open"))
	if f := c.nextData(); string(f.Data) != "still open" {
		t.Fatalf("echo %q", f.Data)
	}
}

// expectSSEError checks the error answer to an SSE stream GET: 200, text/event-stream,
// one event holding the CLOSE frame.
func expectSSEError(t *testing.T, a answer, code uint16) {
	t.Helper()
	expectError(t, a, http.StatusOK, code)
	if ct := a.header.Get("Content-Type"); ct != wire.ContentTypeSSE {
		t.Fatalf("SSE error answer Content-Type %q", ct)
	}
	fr := newFrameReader(transports.EncodingSSE, bytes.NewReader(a.body))
	evt, err := fr.event()
	if err != nil || len(evt) != 1 || evt[0].Type != wire.TypeClose || evt[0].Code != code || len(evt[0].Data) == 0 {
		t.Fatalf("SSE error answer %q: %v", a.body, err)
	}
	if rest, err := fr.all(); err != nil || len(rest) != 0 {
		t.Fatalf("SSE error answer has more than one event: %q", a.body)
	}
}

func TestHTTPUnknownVersion(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	for _, q := range []string{"ps_v=2&ps_t=poll", "ps_v=2&ps_t=stream&ps_e=bin", "ps_v=&ps_t=stream&ps_e=text", "ps_v=2&ps_sid=abc&ps_tok=def"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			a := e.roundTrip(method, q, http.Header{"Content-Type": {wire.ContentTypeBinary}}, nil)
			expectError(t, a, http.StatusBadRequest, wire.CloseUnsupportedVersion)
			if v := a.header.Get(wire.HeaderVersion); v != "1" {
				t.Fatalf("%s %s: %s %q", method, q, wire.HeaderVersion, v)
			}
		}
	}
	a := e.roundTrip(http.MethodGet, "ps_v=2&ps_t=stream&ps_e=sse", nil, nil)
	expectSSEError(t, a, wire.CloseUnsupportedVersion)
	if v := a.header.Get(wire.HeaderVersion); v != "1" {
		t.Fatalf("SSE: %s %q", wire.HeaderVersion, v)
	}
	if got := e.srv.Stats().Opened; got != 0 {
		t.Fatalf("%d sessions opened", got)
	}
}

func TestHTTPBadParameters(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	for _, q := range []string{
		"ps_t=poll",                                    // no ps_v
		"ps_v=1",                                       // no ps_t
		"ps_v=1&ps_t=websocket",                        // not an HTTP transport
		"ps_v=1&ps_t=poll&ps_e=sse",                    // SSE is for streams
		"ps_v=1&ps_t=stream&ps_e=xml",                  // no such form
		"ps_v=1&ps_t=poll&ps_t=poll",                   // repeated
		"ps_v=1&ps_t=poll&ps_p=a,a",                    // a repeated subprotocol
		"ps_v=1&ps_t=poll&ps_sid=x&ps_tok=y&ps_ack=-1", // a bad ack
	} {
		expectError(t, e.roundTrip(http.MethodGet, q, nil, nil), http.StatusBadRequest, wire.CloseBadRequest)
	}
	expectSSEError(t, e.roundTrip(http.MethodGet, "ps_v=1&ps_t=stream&ps_e=sse&ps_p=a,a", nil, nil), wire.CloseBadRequest)
	if got := e.srv.Stats().Opened; got != 0 {
		t.Fatalf("%d sessions opened", got)
	}
}

func TestHTTPMethodNotAllowed(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, "BREW"} {
		a := e.roundTrip(method, "ps_v=1&ps_t=poll", nil, nil)
		if a.status != http.StatusMethodNotAllowed || a.header.Get("Allow") != "GET, POST, OPTIONS" || a.header.Get(wire.HeaderClose) != "4002" {
			t.Fatalf("%s: %d %v", method, a.status, a.header)
		}
	}
}

func TestHTTPCORS(t *testing.T) {
	const good, evil = "https://app.example", "https://evil.example"
	e := newHTEnv(t, nil, &Options{AllowedOrigins: []string{"https://*.example.org", good}})
	corsOK := func(what string, h http.Header, origin string) {
		t.Helper()
		if h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Allow-Credentials") != "true" ||
			!strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") ||
			h.Get("Access-Control-Expose-Headers") != "X-PolySock-Close, X-PolySock-Version" {
			t.Fatalf("%s: CORS headers %v", what, h)
		}
	}
	for _, origin := range []string{good, "https://a.example.org"} {
		pre := e.roundTrip(http.MethodOptions, "ps_v=1", http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"POST"},
			"Access-Control-Request-Headers": {"content-type"}}, nil)
		if pre.status != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Methods") != "GET, POST" ||
			pre.header.Get("Access-Control-Allow-Headers") != "Content-Type" || pre.header.Get("Access-Control-Max-Age") != "600" {
			t.Fatalf("preflight: %d %v", pre.status, pre.header)
		}
		corsOK("preflight", pre.header, origin)
	}
	hdr := http.Header{"Origin": {good}}
	open := e.roundTrip(http.MethodGet, "ps_v=1&ps_t=poll", hdr, nil)
	if open.status != http.StatusOK {
		t.Fatalf("poll from an allowed origin: %d %q", open.status, open.body)
	}
	corsOK("poll", open.header, good)
	frames, _ := newFrameReader(transports.EncodingBinary, bytes.NewReader(open.body)).all()
	o, err := wire.DecodeOpen(frames[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	post := e.roundTrip(http.MethodPost, query("ps_v", "1", "ps_sid", o.Session, "ps_tok", o.Token),
		http.Header{"Origin": {good}, "Content-Type": {wire.ContentTypeText}}, []byte("t1:\"hi\"\n"))
	if post.status != http.StatusOK {
		t.Fatalf("POST from an allowed origin: %d %q", post.status, post.body)
	}
	corsOK("POST", post.header, good)
	unknown := e.roundTrip(http.MethodPost, query("ps_v", "1", "ps_sid", "nope", "ps_tok", "nope"),
		http.Header{"Origin": {good}, "Content-Type": {wire.ContentTypeText}}, nil)
	expectError(t, unknown, http.StatusNotFound, wire.CloseUnknownSession)
	corsOK("error answer", unknown.header, good)

	for _, origin := range []string{evil, "null", "http://app.example"} {
		for _, method := range []string{http.MethodOptions, http.MethodGet, http.MethodPost} {
			a := e.roundTrip(method, "ps_v=1&ps_t=poll", http.Header{"Origin": {origin}, "Content-Type": {wire.ContentTypeText}}, nil)
			expectError(t, a, http.StatusForbidden, wire.ClosePolicyViolation)
			if a.header.Get("Access-Control-Allow-Origin") != "" {
				t.Fatalf("%s from %s: Access-Control-Allow-Origin %q", method, origin, a.header.Get("Access-Control-Allow-Origin"))
			}
		}
	}
	if got := e.srv.Stats().Opened; got != 1 {
		t.Fatalf("%d sessions opened, want 1", got)
	}
}

// An abandoned HTTP session (no request for the idle timeout, then no carrier for the
// resume window) ends with 4006, and its later requests get 404 / 4004.
func TestHTTPIdleReaping(t *testing.T) {
	for _, tc := range []int{0, 2, 3} { // stream-bin, stream-sse, poll-bin
		tc := htCarriers[tc]
		t.Run(tc.name, func(t *testing.T) {
			e := newHTEnv(t, nil, &Options{IdleTimeout: 50 * time.Millisecond, ResumeWindow: 50 * time.Millisecond})
			c := e.newHTClient(tc.poll, tc.enc)
			if !tc.poll {
				// The stream is dropped: the response ends without a CLOSE.
				if f, err := c.fr.frame(); err == nil {
					t.Fatalf("idle stream got %v %d, want its end", f.Type, f.Code)
				}
			}
			expectSessionEnd(t, e, polysock.CloseResumeExpired)
			expectError(t, c.postRaw(c.postForm.ContentType(), nil), http.StatusNotFound, wire.CloseUnknownSession)
			if a := e.roundTrip(http.MethodGet, c.getQuery(), nil, nil); tc.enc == transports.EncodingSSE {
				expectSSEError(t, a, wire.CloseUnknownSession)
			} else {
				expectError(t, a, http.StatusNotFound, wire.CloseUnknownSession)
			}
		})
	}
}

// A POST in progress counts as hearing from the client: a stream is not dropped while
// the client's POST waits for the application to read (backpressure), however long that
// takes. Once nothing is heard, the stream is dropped.
func TestHTTPStreamHeardDuringPost(t *testing.T) {
	const idle = 20 * time.Millisecond
	release := make(chan struct{})
	e := newHTEnv(t, func(e *htEnv, s *Session) {
		<-release
		htEcho(e, s)
	}, &Options{IdleTimeout: idle, ResumeWindow: time.Minute, ReadQueue: 1})
	c := e.newHTClient(false, transports.EncodingBinary)
	s := e.session()
	held := carrierOf(s)
	posted := make(chan answer, 1)
	body := c.encodePost(c.msg(polysock.Text, []byte("a")), c.msg(polysock.Text, []byte("b")))
	go func() { posted <- c.postRaw(wire.ContentTypeBinary, body) }()
	htWaitFor(t, "the POST to wait for the inbox", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.accepted == 1
	})
	time.Sleep(10 * idle) // a lower bound, not an assertion about speed: longer only tests more
	if carrierOf(s) != held {
		t.Fatalf("the stream was dropped while the client's POST was in progress")
	}
	close(release)
	if ack := c.expectAck(<-posted); ack != 2 {
		t.Fatalf("ACK %d", ack)
	}
	// Nothing heard any more: the stream is dropped, the session waits for the client.
	waitDetached(t, s)
	if err := s.Context().Err(); err != nil {
		t.Fatalf("session ended: %v", err)
	}
}

// A session moves between transports and loses nothing: opened on poll, continued on a
// stream, then on a WebSocket.
func TestHTTPSessionMovesBetweenTransports(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	c := e.newHTClient(true, transports.EncodingText)
	s := e.session()
	c.send(polysock.Text, []byte("one"))
	if f := c.nextData(); string(f.Data) != "one" || s.Transport() != "poll" {
		t.Fatalf("echo on poll %q, transport %q", f.Data, s.Transport())
	}

	// On to a stream: OPEN resumed, with the server's count.
	c.poll, c.enc, c.postForm = false, transports.EncodingBinary, transports.EncodingBinary
	c.openStream()
	if f := c.nextFrame(); f.Type != wire.TypeOpen || !c.open.Resumed || c.open.Ack != 1 || c.open.Transport != "stream" {
		t.Fatalf("stream begins with %v %+v", f.Type, c.open)
	}
	if s.Transport() != "stream" {
		t.Fatalf("transport %q", s.Transport())
	}
	c.send(polysock.Binary, []byte("two"))
	if f := c.nextData(); string(f.Data) != "two" {
		t.Fatalf("echo on stream %q", f.Data)
	}
	// An echo the client does not read on the stream: the WebSocket must replay it.
	c.send(polysock.Text, []byte("three"))
	htWaitFor(t, "the echo of three", func() bool { return s.Buffered() > 0 })

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.hs.URL, "http")+"/rt?"+
		query("ps_v", "1", "ps_sid", c.sid, "ps_tok", c.tok, "ps_ack", fmt.Sprint(c.recv)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(htGuard))
	var got []wire.Frame
	for len(got) < 2 {
		typ, msg, err := ws.ReadMessage()
		if err != nil || typ != websocket.BinaryMessage {
			t.Fatalf("WebSocket read: %d %v", typ, err)
		}
		if err := wire.DecodeBatch(msg, func(f *wire.Frame) error {
			if f.Type == wire.TypeOpen || f.Type.IsData() {
				got = append(got, wire.Frame{Type: f.Type, Seq: f.Seq, Data: bytes.Clone(f.Data)})
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := wire.DecodeOpen(got[0].Data)
	if err != nil || !o.Resumed || o.Session != c.sid || o.Ack != 3 || o.Transport != "websocket" {
		t.Fatalf("WebSocket OPEN %+v %v", o, err)
	}
	// Two resumes (poll→stream, stream→websocket); the polls continuing the poll session
	// do not count.
	if r := e.srv.Stats().Resumed; r != 2 {
		t.Fatalf("Stats().Resumed = %d, want 2", r)
	}
	if got[1].Type != wire.TypeText || got[1].Seq != 3 || string(got[1].Data) != "three" {
		t.Fatalf("WebSocket replay %v %d %q, want message 3 three", got[1].Type, got[1].Seq, got[1].Data)
	}
	// The stream was replaced.
	for {
		f, err := c.fr.frame()
		if err != nil {
			t.Fatalf("stream ended without CLOSE 4005: %v", err)
		}
		if f.Type == wire.TypeClose {
			if f.Code != wire.CloseReplaced {
				t.Fatalf("stream CLOSE %d", f.Code)
			}
			break
		}
	}
	if s.Transport() != "websocket" {
		t.Fatalf("transport %q", s.Transport())
	}
	batch := wire.AppendBinary(nil, &wire.Frame{Type: wire.TypeText, Seq: 4, Data: []byte("four")})
	if err := ws.WriteMessage(websocket.BinaryMessage, batch); err != nil {
		t.Fatal(err)
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var echo *wire.Frame
		_ = wire.DecodeBatch(msg, func(f *wire.Frame) error {
			if f.Type.IsData() {
				echo = &wire.Frame{Seq: f.Seq, Data: bytes.Clone(f.Data)}
			}
			return nil
		})
		if echo != nil {
			if echo.Seq != 4 || string(echo.Data) != "four" {
				t.Fatalf("WebSocket echo %d %q", echo.Seq, echo.Data)
			}
			break
		}
	}
}

// Every way an HTTP carrier ends makes its handler return (the leak check of the env
// asserts no goroutine is left): the request cancelled, the session ended by the server.
func TestHTTPCarrierEndsWithRequest(t *testing.T) {
	for _, tc := range []int{0, 3} { // stream-bin, poll-bin
		tc := htCarriers[tc]
		t.Run(tc.name, func(t *testing.T) {
			e := newHTEnv(t, nil, &Options{ResumeWindow: time.Minute})
			c := e.newHTClient(tc.poll, tc.enc)
			s := e.session()
			waitHeld := func() {
				if tc.poll {
					waitDetached(t, s)
					ctx, cancel := context.WithCancel(context.Background())
					resp := make(chan error, 1)
					go func() {
						req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.hs.URL+"/rt?"+c.getQuery(), nil)
						r, err := e.hc.Do(req)
						if err == nil {
							r.Body.Close()
						}
						resp <- err
					}()
					htWaitFor(t, "the poll to be held", func() bool { return carrierOf(s) != nil })
					cancel()
					<-resp
				} else {
					c.stop()
				}
			}
			waitHeld()
			// The server notices the cancelled request and drops the carrier; the session
			// waits for the client.
			waitDetached(t, s)
			if err := s.Context().Err(); err != nil {
				t.Fatalf("session ended: %v", err)
			}
			// A new carrier, then the server ends the session: the CLOSE reaches it.
			c2 := &htClient{e: e, t: t, poll: tc.poll, enc: tc.enc, postForm: c.postForm, sid: c.sid, tok: c.tok}
			if !tc.poll {
				c2.openStream() // attached once its headers arrive
				t.Cleanup(c2.stop)
			}
			closed := make(chan error, 1)
			go func() { closed <- s.Close(4444, "server done") }()
			f := c2.nextFrame()
			for f.Type == wire.TypeOpen || f.Type == wire.TypeAck {
				f = c2.nextFrame()
			}
			if f.Type != wire.TypeClose || f.Code != 4444 || string(f.Data) != "server done" {
				t.Fatalf("got %v %d %q, want CLOSE 4444", f.Type, f.Code, f.Data)
			}
			c2.post(wire.Frame{Type: wire.TypeClose, Code: 4444, Data: []byte("server done")})
			if err := <-closed; err != nil {
				t.Fatalf("Close: %v, want a clean close", err)
			}
		})
	}
}

// TestHTTPPostDuplicateWithClose: a retried POST that held the client's CLOSE is dropped
// as a duplicate, not failed as "message after CLOSE".
func TestHTTPPostDuplicateWithClose(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	c := e.newHTClient(true, transports.EncodingText)
	body := c.encodePost(c.msg(polysock.Text, []byte("last")),
		wire.Frame{Type: wire.TypeClose, Code: wire.CloseNormal, Data: []byte("bye")})
	for range 2 { // the answer to the first was lost: the client sends it again
		if ack := c.expectAck(c.postRaw(wire.ContentTypeText, body)); ack != 1 {
			t.Fatalf("ACK %d, want 1", ack)
		}
	}
}

// TestHTTPShutdownRefusal: once the server is shutting down, a request for a session it
// ended is told 1012 (go elsewhere), not 4004 (session lost).
func TestHTTPShutdownRefusal(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	c := e.newHTClient(true, transports.EncodingBinary)
	ctx, cancel := context.WithTimeout(context.Background(), htGuard)
	defer cancel()
	_ = e.srv.Shutdown(ctx)
	q := query("ps_v", "1", "ps_sid", c.sid, "ps_tok", c.tok, "ps_ack", "0") + "&ps_t=poll&ps_e=bin"
	expectError(t, e.roundTrip(http.MethodGet, q, nil, nil), http.StatusServiceUnavailable, wire.CloseServiceRestart)
}
