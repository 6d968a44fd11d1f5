package server

// Test helpers for the HTTP transport tests. They speak PROTOCOL.md directly with
// net/http and internal/wire (never with package client), against a real server on a
// loopback listener. They live in package server so that a test can wait for internal
// states (a poll being held) instead of sleeping.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/leakcheck"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// htGuard bounds every blocking step. It is a hang guard, never an assertion about
// speed: a healthy run finishes each step in milliseconds.
const htGuard = 20 * time.Second

// htEnd is how a session's handler saw its session end.
type htEnd struct {
	id  string
	err error
}

// htEnv is one polysock server on a loopback httptest server, with an HTTP client.
type htEnv struct {
	t        testing.TB
	srv      *Server
	hs       *httptest.Server
	hc       *http.Client
	sessions chan *Session
	ends     chan htEnd
}

// newHTEnv starts a server whose handler is h (nil: htEcho) and registers the cleanup:
// close the client's connections, shut the server down, close the listener, and check
// that no goroutine started by the test is left.
func newHTEnv(t testing.TB, h func(e *htEnv, s *Session), opts *Options) *htEnv {
	t.Helper()
	leakcheck.Register(t, htGuard) // registered first, so it runs after the servers' cleanups
	e := &htEnv{t: t, sessions: make(chan *Session, 1024), ends: make(chan htEnd, 1024)}
	if h == nil {
		h = htEcho
	}
	e.srv = New(func(s *Session) {
		select {
		case e.sessions <- s:
		default:
		}
		h(e, s)
	}, opts)
	e.hs = httptest.NewServer(e.srv)
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	e.hc = &http.Client{Transport: tr}
	t.Cleanup(e.hs.Close)
	t.Cleanup(func() {
		// The clients are gone by now, but the server may not have noticed yet that a
		// stream was cancelled: its session would wait Options.CloseTimeout for the answer
		// to its CLOSE 1012. The bound keeps the cleanup short; the leak check that runs
		// after it asserts that everything ended.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown: %v", err)
		}
	})
	t.Cleanup(tr.CloseIdleConnections)
	return e
}

// htEcho echoes every message and reports how the session ended on e.ends.
func htEcho(e *htEnv, s *Session) {
	ctx := context.Background()
	for {
		typ, data, err := s.Read(ctx)
		if err == nil {
			err = s.Write(ctx, typ, data)
		}
		if err != nil && !errors.Is(err, ErrClosing) {
			e.ends <- htEnd{s.ID(), err}
			return
		}
	}
}

// session returns the next session the handler was given.
func (e *htEnv) session() *Session {
	e.t.Helper()
	select {
	case s := <-e.sessions:
		return s
	case <-time.After(htGuard):
		e.t.Fatal("timed out waiting for a session")
		return nil
	}
}

// endCode waits until a handler reports its session's end and returns the close code.
func (e *htEnv) endCode() int {
	e.t.Helper()
	select {
	case end := <-e.ends:
		return polysock.CloseStatus(end.err)
	case <-time.After(htGuard):
		e.t.Fatal("timed out waiting for a session to end")
		return 0
	}
}

// query builds a request query from name/value pairs.
func query(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return q.Encode()
}

// do sends a request to the endpoint with query q. The response body must be closed.
func (e *htEnv) do(ctx context.Context, method, q string, hdr http.Header, body []byte) *http.Response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.hs.URL+"/rt?"+q, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, q, err)
	}
	return resp
}

// answer is a complete response.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// roundTrip sends a request and reads the whole answer.
func (e *htEnv) roundTrip(method, q string, hdr http.Header, body []byte) answer {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), htGuard)
	defer cancel()
	resp := e.do(ctx, method, q, hdr, body)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading the body: %v", method, q, err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

// expectError checks a PROTOCOL.md 9.1 error answer.
func expectError(t testing.TB, a answer, status int, code uint16) {
	t.Helper()
	if a.status != status || a.header.Get(wire.HeaderClose) != strconv.Itoa(int(code)) {
		t.Fatalf("got %d with %s %q, body %q; want %d with code %d", a.status, wire.HeaderClose, a.header.Get(wire.HeaderClose), a.body, status, code)
	}
	if status == http.StatusOK {
		return // an SSE error answer: checked by the caller
	}
	if ct := a.header.Get("Content-Type"); ct != wire.ContentTypeText {
		t.Fatalf("error answer Content-Type %q", ct)
	}
	if !strings.Contains(a.header.Get("Cache-Control"), "no-store") {
		t.Fatalf("error answer Cache-Control %q", a.header.Get("Cache-Control"))
	}
	if !strings.HasPrefix(string(a.body), strconv.Itoa(int(code))+" ") || !strings.HasSuffix(string(a.body), "\n") {
		t.Fatalf("error answer body %q", a.body)
	}
}

// htClient is a polysock session client over the stream or poll transport: it keeps the
// session's counters as PROTOCOL.md section 6 says a client does.
type htClient struct {
	e        *htEnv
	t        testing.TB
	poll     bool
	enc      transports.Encoding // of the GETs
	postForm transports.Encoding
	sid, tok string
	open     wire.Open // the last OPEN
	opens    int       // OPEN frames seen
	recv     uint64    // server messages accepted
	sent     uint64    // client messages sent
	srvAck   uint64    // the server's last ACK

	// the current stream (stream transport)
	resp      *http.Response
	cancel    context.CancelFunc
	fr        *frameReader
	responses int // stream responses opened
	// frames of the last poll not yet consumed (poll transport)
	queue []wire.Frame
}

var encNames = map[transports.Encoding]string{
	transports.EncodingBinary: wire.EncodingBinary, transports.EncodingText: wire.EncodingText, transports.EncodingSSE: wire.EncodingSSE,
}

// newHTClient opens a session on the poll transport (poll true) or the stream transport
// in form enc, and reads its OPEN. POSTs use the binary form for a binary GET form and
// the text form otherwise.
func (e *htEnv) newHTClient(poll bool, enc transports.Encoding, extra ...string) *htClient {
	e.t.Helper()
	c := &htClient{e: e, t: e.t, poll: poll, enc: enc, postForm: transports.EncodingText}
	if enc == transports.EncodingBinary {
		c.postForm = transports.EncodingBinary
	}
	if poll {
		c.pollOnce(extra...)
	} else {
		c.openStream(extra...)
	}
	f := c.nextFrame()
	if f.Type != wire.TypeOpen {
		c.t.Fatalf("first frame is %v, want OPEN", f.Type)
	}
	if c.open.Resumed {
		c.t.Fatalf("OPEN of a new session says resumed")
	}
	e.t.Cleanup(c.stop)
	return c
}

func (c *htClient) transport() string {
	if c.poll {
		return wire.TransportPoll
	}
	return wire.TransportStream
}

// getQuery is the query of the next GET.
func (c *htClient) getQuery(extra ...string) string {
	kv := []string{wire.ParamVersion, "1", wire.ParamTransport, c.transport(), wire.ParamEncoding, encNames[c.enc]}
	if c.sid != "" {
		kv = append(kv, wire.ParamSession, c.sid, wire.ParamToken, c.tok, wire.ParamAck, strconv.FormatUint(c.recv, 10))
	}
	return query(append(kv, extra...)...)
}

// openStream opens a stream GET and consumes its prelude, checking it.
func (c *htClient) openStream(extra ...string) {
	c.t.Helper()
	c.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 4*htGuard)
	resp := c.e.do(ctx, http.MethodGet, c.getQuery(extra...), nil, nil)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		c.t.Fatalf("stream GET: %d %q", resp.StatusCode, b)
	}
	c.resp, c.cancel = resp, cancel
	c.fr = newFrameReader(c.enc, resp.Body)
	c.responses++
	if n := readPrelude(c.t, c.enc, c.fr); n < wire.PreludeSize {
		c.t.Fatalf("prelude of %d bytes, want at least %d", n, wire.PreludeSize)
	}
}

// readPrelude consumes a stream's prelude, checks its shape and returns its size.
func readPrelude(t testing.TB, enc transports.Encoding, fr *frameReader) int64 {
	t.Helper()
	if enc == transports.EncodingSSE {
		line, err := fr.br.ReadBytes('\n')
		if err != nil || len(line) < 2 || line[0] != ':' || strings.Trim(string(line[1:]), " \n") != "" {
			t.Fatalf("SSE prelude line %q: %v", abbrevBytes(line), err)
		}
		blank, err := fr.br.ReadBytes('\n')
		if err != nil || string(blank) != "\n" {
			t.Fatalf("SSE prelude not followed by a blank line: %q %v", blank, err)
		}
		fr.read += int64(len(line) + len(blank))
		return fr.read
	}
	f, err := fr.frame()
	if err != nil || f.Type != wire.TypePad {
		t.Fatalf("stream does not begin with a PAD prelude: %v %v", f.Type, err)
	}
	if enc == transports.EncodingText && strings.Trim(string(f.Data), " ") != "" {
		t.Fatalf("text prelude is not spaces")
	}
	return fr.read
}

// stop ends the current stream request, if any.
func (c *htClient) stop() {
	if c.resp != nil {
		c.cancel()
		c.resp.Body.Close()
		c.resp, c.cancel = nil, nil
	}
}

// pollOnce sends one poll GET and queues its frames.
func (c *htClient) pollOnce(extra ...string) {
	c.t.Helper()
	a := c.e.roundTrip(http.MethodGet, c.getQuery(extra...), nil, nil)
	if a.status != http.StatusOK {
		c.t.Fatalf("poll: %d %q", a.status, a.body)
	}
	frames, err := newFrameReader(c.enc, bytes.NewReader(a.body)).all()
	if err != nil {
		c.t.Fatalf("poll body: %v", err)
	}
	if len(a.body) > 0 && len(frames) == 0 {
		c.t.Fatalf("poll body of %d bytes without frames", len(a.body))
	}
	c.queue = append(c.queue, frames...)
}

// nextFrame returns the next frame from the server other than PAD, polling or reopening
// the stream (with ps_ack) as needed. It keeps the counters: OPEN is checked and
// recorded, ACK recorded, PING answered with PONG. It does not filter data frames.
func (c *htClient) nextFrame() wire.Frame {
	c.t.Helper()
	for {
		var f wire.Frame
		if c.poll {
			if len(c.queue) == 0 {
				c.pollOnce()
				continue
			}
			f, c.queue = c.queue[0], c.queue[1:]
		} else {
			var err error
			f, err = c.fr.frame()
			if err == io.EOF { // the response ended: recycled, or the carrier was dropped
				c.openStream()
				continue
			}
			if err != nil {
				c.t.Fatalf("stream: %v", err)
			}
		}
		switch f.Type {
		case wire.TypePad:
			continue
		case wire.TypeOpen:
			o, err := wire.DecodeOpen(f.Data)
			if err != nil {
				c.t.Fatalf("OPEN: %v", err)
			}
			if c.sid != "" && (o.Session != c.sid || !o.Resumed) {
				c.t.Fatalf("OPEN on a resumed carrier: %+v", o)
			}
			if o.Transport != c.transport() {
				c.t.Fatalf("OPEN transport %q, want %q", o.Transport, c.transport())
			}
			c.open, c.sid, c.tok = o, o.Session, o.Token
			c.opens++
		case wire.TypeAck:
			c.srvAck = max(c.srvAck, f.Seq)
		case wire.TypePing:
			c.post(wire.Frame{Type: wire.TypePong, Data: f.Data})
		}
		return f
	}
}

// nextData returns the next server message not seen before, checking the sequence:
// replays (seq ≤ recv) are skipped, a gap fails the test.
func (c *htClient) nextData() wire.Frame {
	c.t.Helper()
	for {
		f := c.nextFrame()
		switch {
		case f.Type == wire.TypeClose:
			c.t.Fatalf("CLOSE %d %q while waiting for a message", f.Code, f.Data)
		case !f.Type.IsData() || f.Seq <= c.recv:
			continue
		case f.Seq != c.recv+1:
			c.t.Fatalf("message %d after %d: a gap", f.Seq, c.recv)
		}
		c.recv = f.Seq
		return f
	}
}

// msg builds the next client message frame.
func (c *htClient) msg(typ polysock.MessageType, data []byte) wire.Frame {
	c.sent++
	t := wire.TypeBinary
	if typ == polysock.Text {
		t = wire.TypeText
	}
	return wire.Frame{Type: t, Seq: c.sent, Data: data}
}

// encodePost encodes frames as a POST body in the client's form.
func (c *htClient) encodePost(frames ...wire.Frame) []byte {
	return postBody(c.postForm, frames...)
}

func postBody(form transports.Encoding, frames ...wire.Frame) []byte {
	b := []byte{}
	for i := range frames {
		if form == transports.EncodingBinary {
			b = wire.AppendBinary(b, &frames[i])
		} else {
			b = append(wire.AppendText(b, &frames[i]), '\n')
		}
	}
	return b
}

// postQuery is the query of a POST of the session.
func (c *htClient) postQuery() string {
	return query(wire.ParamVersion, "1", wire.ParamSession, c.sid, wire.ParamToken, c.tok)
}

// postRaw sends body as a POST of the session with Content-Type ct.
func (c *htClient) postRaw(ct string, body []byte) answer {
	c.t.Helper()
	hdr := http.Header{}
	if ct != "" {
		hdr.Set("Content-Type", ct)
	}
	return c.e.roundTrip(http.MethodPost, c.postQuery(), hdr, body)
}

// post sends frames in one POST, expects 200 and returns the server's ACK count.
func (c *htClient) post(frames ...wire.Frame) uint64 {
	c.t.Helper()
	a := c.postRaw(c.postForm.ContentType(), c.encodePost(frames...))
	return c.expectAck(a)
}

// expectAck checks a POST answer: 200 with one ACK frame in the client's form.
func (c *htClient) expectAck(a answer) uint64 {
	c.t.Helper()
	if a.status != http.StatusOK {
		c.t.Fatalf("POST: %d %q", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != c.postForm.ContentType() {
		c.t.Fatalf("POST answer Content-Type %q, want %q", ct, c.postForm.ContentType())
	}
	frames, err := newFrameReader(c.postForm, bytes.NewReader(a.body)).all()
	if err != nil || len(frames) != 1 || frames[0].Type != wire.TypeAck {
		c.t.Fatalf("POST answer %q is not one ACK frame (%v)", a.body, err)
	}
	c.srvAck = frames[0].Seq
	return frames[0].Seq
}

// send posts messages as one batch, with an ACK of what the client accepted first.
func (c *htClient) send(typ polysock.MessageType, payloads ...[]byte) uint64 {
	c.t.Helper()
	frames := []wire.Frame{{Type: wire.TypeAck, Seq: c.recv}}
	for _, p := range payloads {
		frames = append(frames, c.msg(typ, p))
	}
	return c.post(frames...)
}

// carrierOf returns the session's current carrier.
func carrierOf(s *Session) carrier {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.car
}

// waitDetached waits until s has no carrier: a poll answered, its carrier dropped.
func waitDetached(t testing.TB, s *Session) {
	t.Helper()
	htWaitFor(t, "the carrier to be dropped", func() bool { return carrierOf(s) == nil })
}

// htWaitFor polls cond until it holds, failing after the hang guard.
func htWaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(htGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func abbrevBytes(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}
