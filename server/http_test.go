package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// htCarriers are the HTTP carriers every scenario runs on.
var htCarriers = []struct {
	name string
	poll bool
	enc  transports.Encoding
}{
	{"stream-bin", false, transports.EncodingBinary},
	{"stream-text", false, transports.EncodingText},
	{"stream-sse", false, transports.EncodingSSE},
	{"poll-bin", true, transports.EncodingBinary},
	{"poll-text", true, transports.EncodingText},
}

func TestHTTPStreamOpen(t *testing.T) {
	for _, tc := range htCarriers[:3] {
		t.Run(tc.name, func(t *testing.T) {
			e := newHTEnv(t, nil, &Options{Subprotocols: []string{"chat.v2", "chat.v1"}})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp := e.do(ctx, http.MethodGet, query("ps_v", "1", "ps_t", "stream", "ps_e", encNames[tc.enc], "ps_p", "chat.v1,other"), nil, nil)
			defer resp.Body.Close()
			h := resp.Header
			if resp.StatusCode != http.StatusOK || h.Get("Content-Type") != tc.enc.ContentType() ||
				h.Get("Cache-Control") != "no-store, no-transform" || h.Get("X-Accel-Buffering") != "no" {
				t.Fatalf("status %d, headers %v", resp.StatusCode, h)
			}
			fr := newFrameReader(tc.enc, resp.Body)
			if n := readPrelude(t, tc.enc, fr); n < wire.PreludeSize {
				t.Fatalf("prelude of %d bytes, want at least %d", n, wire.PreludeSize)
			}
			f, err := fr.frame()
			if err != nil || f.Type != wire.TypeOpen {
				t.Fatalf("after the prelude: %v %v, want OPEN", f.Type, err)
			}
			o, err := wire.DecodeOpen(f.Data)
			if err != nil || o.Transport != "stream" || o.Resumed || o.Protocol != "chat.v1" || o.Ack != 0 ||
				o.Timeout != 60000 || o.Ping != 25000 || o.MaxBody != 1<<20+64<<10 || len(o.Token) < 22 {
				t.Fatalf("OPEN %+v %v", o, err)
			}
			s := e.session()
			if s.ID() != o.Session || s.Transport() != "stream" || s.Protocol() != "chat.v1" {
				t.Fatalf("session %q on %q with %q, OPEN %+v", s.ID(), s.Transport(), s.Protocol(), o)
			}
			if s.Request().URL.Query().Has("ps_v") {
				t.Fatalf("Session.Request keeps the protocol's parameters: %v", s.Request().URL)
			}
		})
	}
}

func TestHTTPPollOpen(t *testing.T) {
	for _, tc := range htCarriers[3:] {
		t.Run(tc.name, func(t *testing.T) {
			e := newHTEnv(t, nil, &Options{Subprotocols: []string{"chat.v1"}})
			a := e.roundTrip(http.MethodGet, query("ps_v", "1", "ps_t", "poll", "ps_e", encNames[tc.enc], "ps_p", "x,chat.v1"), nil, nil)
			if a.status != http.StatusOK || a.header.Get("Content-Type") != tc.enc.ContentType() ||
				a.header.Get("Cache-Control") != "no-store, no-transform" || a.header.Get("Content-Length") != strconv.Itoa(len(a.body)) {
				t.Fatalf("status %d, headers %v", a.status, a.header)
			}
			frames, err := newFrameReader(tc.enc, bytes.NewReader(a.body)).all()
			if err != nil || len(frames) == 0 || frames[0].Type != wire.TypeOpen {
				t.Fatalf("poll body %q (%v): want OPEN first, no prelude", abbrevBytes(a.body), err)
			}
			o, err := wire.DecodeOpen(frames[0].Data)
			if err != nil || o.Transport != "poll" || o.Resumed || o.Protocol != "chat.v1" {
				t.Fatalf("OPEN %+v %v", o, err)
			}
			s := e.session()
			if s.Transport() != "poll" || s.Protocol() != "chat.v1" {
				t.Fatalf("session on %q with %q", s.Transport(), s.Protocol())
			}
			// The next poll is held until there is something to send, and has no OPEN.
			c := &htClient{e: e, t: t, poll: true, enc: tc.enc, postForm: tc.enc, sid: o.Session, tok: o.Token}
			waitDetached(t, s)
			done := make(chan wire.Frame, 1)
			go func() { done <- c.nextFrame() }()
			htWaitFor(t, "the poll to be held", func() bool { return carrierOf(s) != nil })
			if err := s.Write(context.Background(), polysock.Text, []byte("hi")); err != nil {
				t.Fatal(err)
			}
			if f := <-done; f.Type != wire.TypeText || f.Seq != 1 || string(f.Data) != "hi" || c.opens != 0 {
				t.Fatalf("held poll answered with %v %d %q (OPENs %d)", f.Type, f.Seq, f.Data, c.opens)
			}
		})
	}
}

func TestHTTPEcho(t *testing.T) {
	big := make([]byte, 1<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	msgs := []struct {
		name string
		typ  polysock.MessageType
		data []byte
	}{
		{"text", polysock.Text, []byte("hello")},
		{"binary", polysock.Binary, []byte{0, 1, 2, 0xff, '\n', '\r'}},
		{"empty binary", polysock.Binary, []byte{}},
		{"empty text", polysock.Text, []byte{}},
		{"unicode", polysock.Text, []byte("héllo wörld ✓ 🎉 \u2028 \x00 \"quoted\"\r\n\tend")},
		{"1 MiB binary", polysock.Binary, big},
	}
	for _, tc := range htCarriers {
		t.Run(tc.name, func(t *testing.T) {
			// The text form of a 1 MiB binary message (base64) passes the default maxBody.
			e := newHTEnv(t, nil, &Options{MaxBatchSize: 2 << 20})
			c := e.newHTClient(tc.poll, tc.enc)
			for _, m := range msgs {
				if ack := c.send(m.typ, m.data); ack != c.sent {
					t.Fatalf("%s: POST answered ACK %d, want %d", m.name, ack, c.sent)
				}
				f := c.nextData()
				wantType := wire.TypeBinary
				if m.typ == polysock.Text {
					wantType = wire.TypeText
				}
				if f.Type != wantType || !bytes.Equal(f.Data, m.data) {
					t.Fatalf("%s: echo is %v of %d bytes %q", m.name, f.Type, len(f.Data), abbrevBytes(f.Data))
				}
			}
		})
	}
}

func TestHTTPTenThousandMessagesInOrder(t *testing.T) {
	for _, tc := range []int{0, 2, 3} { // stream-bin, stream-sse, poll-bin
		tc := htCarriers[tc]
		t.Run(tc.name, func(t *testing.T) {
			e := newHTEnv(t, nil, nil)
			c := e.newHTClient(tc.poll, tc.enc)
			const total, perPost = 10000, 250
			for i := 0; i < total; i += perPost {
				payloads := make([][]byte, perPost)
				for j := range payloads {
					payloads[j] = []byte("m" + strconv.Itoa(i+j))
				}
				c.send(polysock.Text, payloads...)
				for j := range payloads {
					f := c.nextData()
					if want := "m" + strconv.Itoa(i+j); string(f.Data) != want {
						t.Fatalf("got %q, want %q", f.Data, want)
					}
				}
			}
			if c.recv != total || c.srvAck != total {
				t.Fatalf("received %d, server acknowledged %d; want %d", c.recv, c.srvAck, total)
			}
		})
	}
}

func TestHTTPStreamRecycleMidBurst(t *testing.T) {
	for _, tc := range htCarriers[:3] {
		t.Run(tc.name, func(t *testing.T) {
			const limit, burst = 4096, 2000
			payload := bytes.Repeat([]byte("x"), 90)
			e := newHTEnv(t, func(e *htEnv, s *Session) {
				if _, _, err := s.Read(context.Background()); err != nil {
					return
				}
				for i := range burst {
					if err := s.Write(context.Background(), polysock.Binary, append([]byte(strconv.Itoa(i)+":"), payload...)); err != nil {
						e.ends <- htEnd{s.ID(), err}
						return
					}
				}
				htEcho(e, s)
			}, &Options{StreamMaxBytes: limit})
			c := e.newHTClient(false, tc.enc)
			c.send(polysock.Text, []byte("go"))
			for i := range burst {
				var before int64
				if c.fr != nil {
					before = c.fr.read
				}
				responses := c.responses
				f := c.nextData()
				if !strings.HasPrefix(string(f.Data), strconv.Itoa(i)+":") {
					t.Fatalf("message %d is %q", i, abbrevBytes(f.Data))
				}
				// A response ends with the batch that passed the limit: at most one batch
				// (64 KiB of data, encoded) past it.
				if c.responses == responses && c.fr.read > limit+2*maxServerBatch+4096 {
					t.Fatalf("response of %d bytes (was %d), limit %d", c.fr.read, before, limit)
				}
				if i%100 == 99 {
					c.post(wire.Frame{Type: wire.TypeAck, Seq: c.recv})
				}
			}
			if c.responses < 2 || c.opens != c.responses {
				t.Fatalf("%d stream responses with %d OPENs for %d messages of ~100 bytes, limit %d", c.responses, c.opens, burst, limit)
			}
			// The session goes on after the burst.
			c.send(polysock.Text, []byte("after"))
			if f := c.nextData(); string(f.Data) != "after" {
				t.Fatalf("echo after the burst: %q", f.Data)
			}
		})
	}
}

func TestHTTPPollLostResponse(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	c := e.newHTClient(true, transports.EncodingBinary)
	s := e.session()
	waitDetached(t, s)
	for _, m := range []string{"one", "two", "three"} {
		if err := s.Write(context.Background(), polysock.Text, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	data := func(frames []wire.Frame) (out []string) {
		for _, f := range frames {
			if f.Type.IsData() {
				out = append(out, fmt.Sprintf("%d:%s", f.Seq, f.Data))
			}
		}
		return out
	}
	c.pollOnce() // lost: the client never sees this response
	lost := data(c.queue)
	c.queue = nil
	c.pollOnce() // the same ack again
	again := data(c.queue)
	c.queue = nil
	want := []string{"1:one", "2:two", "3:three"}
	if fmt.Sprint(lost) != fmt.Sprint(want) || fmt.Sprint(again) != fmt.Sprint(want) {
		t.Fatalf("poll answered %v, then %v with the same ack; want %v both times, in one batch", lost, again, want)
	}
	// With the new ack, the poll is held until the next message, which comes alone.
	c.recv = 3
	waitDetached(t, s)
	go writeWhenHeld(s, "four")
	if f := c.nextData(); f.Seq != 4 || string(f.Data) != "four" {
		t.Fatalf("got %d %q, want 4 four", f.Seq, f.Data)
	}
	if s.Buffered() != 0 && s.Buffered() != 4 {
		t.Fatalf("Buffered %d", s.Buffered())
	}
}

func TestHTTPSecondPollReplacesFirst(t *testing.T) {
	for _, enc := range []transports.Encoding{transports.EncodingBinary, transports.EncodingText} {
		t.Run(encNames[enc], func(t *testing.T) {
			e := newHTEnv(t, nil, nil)
			c := e.newHTClient(true, enc)
			s := e.session()
			waitDetached(t, s)
			first := make(chan answer, 1)
			go func() { first <- e.roundTrip(http.MethodGet, c.getQuery(), nil, nil) }()
			htWaitFor(t, "the first poll to be held", func() bool { return carrierOf(s) != nil })
			held := carrierOf(s)
			second := make(chan answer, 1)
			go func() { second <- e.roundTrip(http.MethodGet, c.getQuery(), nil, nil) }()
			a := <-first
			frames, err := newFrameReader(enc, bytes.NewReader(a.body)).all()
			if a.status != http.StatusOK || err != nil || len(frames) != 1 || frames[0].Type != wire.TypeClose || frames[0].Code != wire.CloseReplaced {
				t.Fatalf("replaced poll answered %d %q (%v), want one CLOSE 4005", a.status, a.body, err)
			}
			htWaitFor(t, "the second poll to be held", func() bool { c := carrierOf(s); return c != nil && c != held })
			if err := s.Write(context.Background(), polysock.Binary, []byte{7}); err != nil {
				t.Fatal(err)
			}
			a = <-second
			frames, err = newFrameReader(enc, bytes.NewReader(a.body)).all()
			if err != nil || len(frames) != 1 || frames[0].Type != wire.TypeBinary || !bytes.Equal(frames[0].Data, []byte{7}) {
				t.Fatalf("second poll answered %q (%v)", a.body, err)
			}
		})
	}
}

func TestHTTPSecondStreamReplacesFirst(t *testing.T) {
	for _, tc := range htCarriers[:3] {
		t.Run(tc.name, func(t *testing.T) {
			e := newHTEnv(t, nil, nil)
			first := e.newHTClient(false, tc.enc)
			second := &htClient{e: e, t: t, enc: tc.enc, postForm: first.postForm, sid: first.sid, tok: first.tok}
			second.openStream()
			t.Cleanup(second.stop)
			if f := second.nextFrame(); f.Type != wire.TypeOpen || !second.open.Resumed {
				t.Fatalf("newer stream begins with %v (%+v), want OPEN resumed", f.Type, second.open)
			}
			f, err := first.fr.frame()
			if err != nil || f.Type != wire.TypeClose || f.Code != wire.CloseReplaced {
				t.Fatalf("older stream got %v %d (%v), want CLOSE 4005", f.Type, f.Code, err)
			}
			if f, err := first.fr.frame(); err != io.EOF {
				t.Fatalf("older stream goes on after CLOSE 4005: %v %v", f.Type, err)
			}
			second.send(polysock.Text, []byte("still here"))
			if f := second.nextData(); string(f.Data) != "still here" {
				t.Fatalf("echo on the newer stream: %q", f.Data)
			}
		})
	}
}

func TestHTTPStreamOneEventPerBatch(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	opener := e.newHTClient(true, transports.EncodingText)
	s := e.session()
	const n = 20
	for i := range n {
		if err := s.Write(context.Background(), polysock.Text, []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	// Everything queued while the session had no carrier goes out as one batch: one
	// event with a data line per frame.
	c := &htClient{e: e, t: t, enc: transports.EncodingSSE, postForm: transports.EncodingText, sid: opener.sid, tok: opener.tok}
	c.openStream()
	t.Cleanup(c.stop)
	evt, err := c.fr.event()
	if err != nil {
		t.Fatal(err)
	}
	if len(evt) != n+1 || evt[0].Type != wire.TypeOpen {
		t.Fatalf("first event has %d frames, want OPEN and %d messages", len(evt), n)
	}
	for i, f := range evt[1:] {
		if f.Type != wire.TypeText || f.Seq != uint64(i+1) || string(f.Data) != strconv.Itoa(i) {
			t.Fatalf("frame %d of the event: %v %d %q", i+1, f.Type, f.Seq, f.Data)
		}
	}
}

func TestHTTPPollHoldEndsEmpty(t *testing.T) {
	e := newHTEnv(t, nil, &Options{PollHold: 20 * time.Millisecond})
	c := e.newHTClient(true, transports.EncodingBinary)
	a := e.roundTrip(http.MethodGet, c.getQuery(), nil, nil)
	if a.status != http.StatusOK || len(a.body) != 0 || a.header.Get("Content-Length") != "0" || a.header.Get("Content-Type") != wire.ContentTypeBinary {
		t.Fatalf("poll after the hold: %d %v %q", a.status, a.header, a.body)
	}
	// The session goes on.
	c.send(polysock.Text, []byte("ping"))
	if f := c.nextData(); string(f.Data) != "ping" {
		t.Fatalf("echo %q", f.Data)
	}
}

func TestHTTPServerClose(t *testing.T) {
	for _, tc := range htCarriers {
		t.Run(tc.name, func(t *testing.T) {
			closed := make(chan error, 1)
			e := newHTEnv(t, func(e *htEnv, s *Session) {
				if _, _, err := s.Read(context.Background()); err != nil {
					closed <- err
					return
				}
				_ = s.Write(context.Background(), polysock.Text, []byte("last"))
				closed <- s.Close(4321, "bye")
			}, nil)
			c := e.newHTClient(tc.poll, tc.enc)
			c.send(polysock.Text, []byte("close please"))
			if f := c.nextData(); string(f.Data) != "last" {
				t.Fatalf("message before CLOSE: %q", f.Data)
			}
			f := c.nextFrame()
			for f.Type == wire.TypeAck {
				f = c.nextFrame()
			}
			if f.Type != wire.TypeClose || f.Code != 4321 || string(f.Data) != "bye" {
				t.Fatalf("got %v %d %q, want CLOSE 4321 bye", f.Type, f.Code, f.Data)
			}
			c.post(wire.Frame{Type: wire.TypeAck, Seq: c.recv}, wire.Frame{Type: wire.TypeClose, Code: 4321, Data: []byte("bye")})
			if err := <-closed; err != nil {
				t.Fatalf("Close after the CLOSE answer: %v, want a clean close", err)
			}
			a := c.postRaw(c.postForm.ContentType(), nil)
			expectError(t, a, http.StatusNotFound, wire.CloseUnknownSession)
		})
	}
}

func TestHTTPClientClose(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	c := e.newHTClient(false, transports.EncodingBinary)
	c.send(polysock.Text, []byte("a"))
	if f := c.nextData(); string(f.Data) != "a" {
		t.Fatalf("echo %q", f.Data)
	}
	c.post(wire.Frame{Type: wire.TypeAck, Seq: c.recv}, wire.Frame{Type: wire.TypeClose, Code: 4999, Data: []byte("done")})
	f := c.nextFrame()
	for f.Type == wire.TypeAck {
		f = c.nextFrame()
	}
	if f.Type != wire.TypeClose || f.Code != 4999 || string(f.Data) != "done" {
		t.Fatalf("CLOSE answer %v %d %q", f.Type, f.Code, f.Data)
	}
	if code := e.endCode(); code != 4999 {
		t.Fatalf("session ended with %d", code)
	}
}

// A request that carries an older ps_ack than an ACK the server already got (a delayed
// poll) is harmless: the lower ack is ignored, as a lower ACK frame is.
func TestHTTPStaleAck(t *testing.T) {
	e := newHTEnv(t, nil, nil)
	c := e.newHTClient(true, transports.EncodingBinary)
	s := e.session()
	for _, m := range []string{"one", "two", "three"} {
		c.send(polysock.Text, []byte(m))
		if f := c.nextData(); string(f.Data) != m {
			t.Fatalf("echo %q", f.Data)
		}
	}
	c.post(wire.Frame{Type: wire.TypeAck, Seq: c.recv})
	waitDetached(t, s)
	go writeWhenHeld(s, "four")
	c.recv = 1 // a delayed poll
	c.pollOnce()
	c.recv = 3
	if f := c.nextData(); f.Seq != 4 || string(f.Data) != "four" {
		t.Fatalf("got %d %q after a stale ack, want message 4", f.Seq, f.Data)
	}
}

// writeWhenHeld writes a text message once s has a carrier (a held poll). It runs in its
// own goroutine, so it does not fail the test: the reader's hang guard does.
func writeWhenHeld(s *Session, msg string) {
	for deadline := time.Now().Add(htGuard); carrierOf(s) == nil && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	_ = s.Write(context.Background(), polysock.Text, []byte(msg))
}
