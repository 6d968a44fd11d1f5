package framers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock/bench/loadgen"
)

// sockjsPrefix is where bench/cmd/benchserver mounts igm/sockjs-go.
const sockjsPrefix = "/sockjs"

// sockjsSession returns a new session's URL prefix: /sockjs/<server>/<session>.
func sockjsSession(base string) string {
	return fmt.Sprintf("%s%s/%03d/%016x", base, sockjsPrefix, rand.IntN(1000), rand.Uint64())
}

// sockjsFrame decodes one SockJS frame: "o" (open), "h" (heartbeat), "a[…]" (messages),
// "c[code,reason]" (close, returned as an error).
func sockjsFrame(f []byte) (open bool, msgs []string, err error) {
	if len(f) == 0 {
		return false, nil, errors.New("empty SockJS frame")
	}
	switch f[0] {
	case 'o':
		return true, nil, nil
	case 'h':
		return false, nil, nil
	case 'a':
		if err := json.Unmarshal(f[1:], &msgs); err != nil {
			return false, nil, fmt.Errorf("bad SockJS array frame %.80q: %w", f, err)
		}
		return false, msgs, nil
	case 'c':
		return false, nil, fmt.Errorf("SockJS session closed: %s", f[1:])
	}
	return false, nil, fmt.Errorf("unknown SockJS frame %.80q", f)
}

// SockJSWebSocket speaks SockJS over its framed WebSocket endpoint
// (/sockjs/<server>/<session>/websocket): every Send is one WebSocket message holding a
// JSON array of strings; the server's "a[…]" frames are unpacked in order.
type SockJSWebSocket struct{}

func (SockJSWebSocket) Name() string { return "sockjs/websocket" }

func (SockJSWebSocket) Dial(ctx context.Context, base string) (loadgen.Conn, error) {
	c, err := dialWS(ctx, wsURL(sockjsSession(base), "/websocket"))
	if err != nil {
		return nil, err
	}
	b, err := c.read(ctx)
	if err == nil {
		var open bool
		if open, _, err = sockjsFrame(b); err == nil && !open {
			err = fmt.Errorf("expected the open frame, got %.40q", b)
		}
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("failed to open a SockJS session: %w", err)
	}
	return &sockjsWSConn{wsConn: c}, nil
}

type sockjsWSConn struct {
	*wsConn
	pending []string
}

func (s *sockjsWSConn) Send(_ context.Context, msgs ...[]byte) error {
	return s.write(websocket.TextMessage, jsonStrings(msgs))
}

func (s *sockjsWSConn) Recv(ctx context.Context) ([]byte, error) {
	for len(s.pending) == 0 {
		b, err := s.read(ctx)
		if err != nil {
			return nil, err
		}
		if _, s.pending, err = sockjsFrame(b); err != nil {
			return nil, err
		}
	}
	m := s.pending[0]
	s.pending = s.pending[1:]
	return []byte(m), nil
}

// jsonStrings encodes msgs as a JSON array of strings.
func jsonStrings(msgs [][]byte) []byte {
	ss := make([]string, len(msgs))
	for i, m := range msgs {
		ss[i] = string(m)
	}
	b, _ := json.Marshal(ss) // strings always marshal
	return b
}

// SockJSXHR speaks SockJS over xhr-streaming (Streaming: one long POST …/xhr_streaming
// whose body carries newline-terminated frames after a 2 KiB prelude, opened again when
// the server ends it at its response limit) or xhr-polling (POST …/xhr, answered with the
// frames queued, at once or when one arrives). Sends are POSTs to …/xhr_send with a JSON
// array of all the messages of the Send, answered 204, one at a time as sockjs-client
// sends them.
type SockJSXHR struct{ Streaming bool }

func (x SockJSXHR) Name() string {
	if x.Streaming {
		return "sockjs/xhr-streaming"
	}
	return "sockjs/xhr-polling"
}

func (x SockJSXHR) Dial(ctx context.Context, base string) (loadgen.Conn, error) {
	c := &sockjsXHRConn{inbox: newInbox(), url: sockjsSession(base)}
	recv := c.url + "/xhr"
	if x.Streaming {
		recv += "_streaming"
	}
	opened := make(chan error, 1)
	go c.receive(recv, opened)
	select {
	case err := <-opened:
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("failed to open a SockJS session: %w", err)
		}
	case <-ctx.Done():
		c.Close()
		return nil, fmt.Errorf("failed to open a SockJS session: %w", ctx.Err())
	}
	return c, nil
}

type sockjsXHRConn struct {
	*inbox
	url string
}

// errStillOpen is sockjs-go's refusal of a receiving request while it still counts the
// previous one as attached.
var errStillOpen = errors.New(`SockJS: c[2010,"Another connection still open"]`)

// receive issues the receiving requests one after the other and delivers their frames;
// opened gets the outcome of the first frame.
func (c *sockjsXHRConn) receive(u string, opened chan<- error) {
	for {
		err := c.request(u, opened)
		if errors.Is(err, errStillOpen) {
			// sockjs-go detaches a finished receiving request in a goroutine of its own, so
			// the next one can arrive first and be refused with c[2010,…] while the session
			// lives on. sockjs-client would take that for the session's end; the benchmark
			// asks again (see docs/BENCHMARKS.md).
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			select {
			case opened <- err:
			default:
			}
			c.fail(err)
			return
		}
	}
}

// request runs one receiving request to its end.
func (c *sockjsXHRConn) request(u string, opened chan<- error) error {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s", u, resp.Status)
	}
	rd := bufio.NewReaderSize(resp.Body, 64<<10)
	for {
		line, err := rd.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			return nil // the server ended this response; open the next
		}
		if err != nil {
			return err
		}
		line = line[:len(line)-1]
		if bytes.HasPrefix(line, []byte(`c[2010,`)) {
			return errStillOpen
		}
		if len(line) == 2048 && line[0] == 'h' && line[2047] == 'h' {
			continue // the xhr-streaming prelude
		}
		open, msgs, err := sockjsFrame(line)
		if err != nil {
			return err
		}
		if open {
			select {
			case opened <- nil:
			default:
			}
		}
		for _, m := range msgs {
			if !c.deliver([]byte(m)) {
				return errors.New("closed")
			}
		}
	}
}

func (c *sockjsXHRConn) Send(ctx context.Context, msgs ...[]byte) error {
	_, err := post(ctx, c.url+"/xhr_send", "text/plain;charset=UTF-8", jsonStrings(msgs), http.StatusNoContent)
	return err
}
