package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// hangGuard bounds every network wait of the tests; it only catches hangs.
const hangGuard = 20 * time.Second

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	t.Cleanup(cancel)
	return ctx
}

// peer is the server side of a scripted polysock WebSocket carrier: a real WebSocket on
// loopback that sends the exact frames a test needs, including ones a correct server
// never sends.
type peer struct {
	ws      *websocket.Conn
	r       *http.Request
	pending []wire.Frame // frames of the last batch not yet taken by readFrame
}

// scripted starts an HTTP server on 127.0.0.1 that upgrades every request and runs script
// on it; an upgrade that resumes a session is closed with 4004. Errors from script are reported as test errors. Cleanup waits for the scripts.
func scripted(t *testing.T, script func(p *peer) error) string {
	t.Helper()
	var wg sync.WaitGroup
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer ws.Close()
		if r.URL.Query().Get(wire.ParamSession) != "" {
			// A scripted server knows no session to resume (PROTOCOL.md section 8.1).
			msg := websocket.FormatCloseMessage(int(wire.CloseUnknownSession), "unknown session")
			ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			return
		}
		ws.SetReadDeadline(time.Now().Add(hangGuard))
		if err := script(&peer{ws: ws, r: r}); err != nil {
			t.Errorf("script: %v", err)
		}
	}))
	t.Cleanup(func() {
		hs.Close()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/rt"
}

func testOpen() wire.Open {
	return wire.Open{
		Version: 1, Session: "sid-1", Token: "tok", Transport: "websocket",
		Ping: 25000, Timeout: 60000, Resume: 30000, MaxMessage: 1 << 20, MaxBody: 1<<20 + 64<<10,
	}
}

// open sends OPEN (testOpen changed by mod) alone in the first batch.
func (p *peer) open(mod func(*wire.Open)) error {
	o := testOpen()
	if mod != nil {
		mod(&o)
	}
	f := o.Frame()
	return p.send(f)
}

func (p *peer) send(fs ...wire.Frame) error {
	return p.ws.WriteMessage(websocket.BinaryMessage, appendFrames(fs...))
}

// read returns the frames of the next batch.
func (p *peer) read() ([]wire.Frame, error) {
	typ, b, err := p.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	if typ != websocket.BinaryMessage {
		return nil, fmt.Errorf("client sent a message of type %d", typ)
	}
	var fs []wire.Frame
	err = wire.DecodeBatch(b, func(f *wire.Frame) error {
		g := *f
		g.Data = bytes.Clone(f.Data)
		fs = append(fs, g)
		return nil
	})
	return fs, err
}

// readFrame returns the next frame, reading a batch when none is pending.
func (p *peer) readFrame() (wire.Frame, error) {
	for len(p.pending) == 0 {
		fs, err := p.read()
		if err != nil {
			return wire.Frame{}, err
		}
		p.pending = fs
	}
	f := p.pending[0]
	p.pending = p.pending[1:]
	return f, nil
}

// readUntil reads frames until one of type typ and returns it.
func (p *peer) readUntil(typ wire.Type) (wire.Frame, error) {
	for {
		f, err := p.readFrame()
		if err != nil {
			return wire.Frame{}, fmt.Errorf("waiting for %v: %w", typ, err)
		}
		if f.Type == typ {
			return f, nil
		}
	}
}

// expectClose reads until the client's CLOSE and checks its code.
func (p *peer) expectClose(code uint16) error {
	f, err := p.readUntil(wire.TypeClose)
	if err != nil {
		return err
	}
	if f.Code != code {
		return fmt.Errorf("client sent CLOSE %d %q, want %d", f.Code, f.Data, code)
	}
	return nil
}

// wsCloseCode waits for the client's WebSocket close frame and returns its code.
func (p *peer) wsCloseCode() int {
	for {
		if _, _, err := p.ws.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			return -1
		}
	}
}

// dial dials url with opts and fails the test on error.
func dial(t testing.TB, url string, opts *Options) *Conn {
	t.Helper()
	c, err := Dial(testCtx(t), url, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close(1000, "") })
	return c
}

// readEnd reads until the session's end and returns its CloseError.
func readEnd(t *testing.T, c *Conn) *polysock.CloseError {
	t.Helper()
	for {
		_, _, err := c.Read(testCtx(t))
		if err != nil {
			var ce *polysock.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("Read error %v is not a CloseError", err)
			}
			return ce
		}
	}
}

func readMsg(t *testing.T, c *Conn) (polysock.MessageType, string) {
	t.Helper()
	typ, b, err := c.Read(testCtx(t))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return typ, string(b)
}

// answerClose reads until the client's CLOSE, checks its code and answers it.
func (p *peer) answerClose(code uint16) error {
	f, err := p.readUntil(wire.TypeClose)
	if err != nil {
		return err
	}
	if f.Code != code {
		return fmt.Errorf("client sent CLOSE %d %q, want %d", f.Code, f.Data, code)
	}
	return p.send(f)
}
