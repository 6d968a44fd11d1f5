package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/polysock/polysock/internal/wire"
)

// This file holds what the stream and poll carriers share (PROTOCOL.md sections 8.2–8.4):
// the session they carry once OPEN has arrived, GET requests whose bodies are read under
// the idle limit, and closing. post.go sends their client→server batches; stream.go and
// poll.go hold only what differs between the two.

// errCarrierClosed is the error of a request aborted because its carrier was closed.
var errCarrierClosed = errors.New("carrier closed")

// httpCarrier is the core of the "stream" and "poll" carriers. Every request it makes
// runs under a context of its own, derived from one that close cancels, so that close
// aborts the GET and the POST in flight and nothing outlives the carrier.
type httpCarrier struct {
	name   string // transport name
	e      *endpoint
	cfg    *config
	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	idle   atomic.Int64 // time.Duration; 0 = no limit
	sess   *session     // set by bind, before the Conn's goroutines start
}

func newHTTPCarrier(name string, e *endpoint, cfg *config) httpCarrier {
	ctx, cancel := context.WithCancel(context.Background())
	return httpCarrier{name: name, e: e, cfg: cfg, ctx: ctx, cancel: cancel}
}

func (h *httpCarrier) transport() string { return h.name }

func (h *httpCarrier) setIdle(d time.Duration) { h.idle.Store(int64(d)) }

// bind gives the carrier the session that its OPEN started: its id and token for later
// requests, its accepted count for ps_ack and its replay buffer for the ACKs of POSTs.
func (h *httpCarrier) bind(s *session) { h.sess = s }

// close aborts every request of the carrier. The HTTP transports have no carrier-level
// close: CLOSE frames travel in POST bodies, which the session's writer sends.
func (h *httpCarrier) close(uint16, string) { h.cancel() }

// params returns the query parameters of a request that continues the bound session.
func (h *httpCarrier) params() carrierParams {
	return carrierParams{sid: h.sess.id, token: h.sess.token}
}

// newRequest builds a request of the carrier with the application's headers.
func (h *httpCarrier) newRequest(ctx context.Context, method string, p carrierParams, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, h.e.url(false, p), body)
	if err != nil {
		return nil, fmt.Errorf("failed to build request: %w", err)
	}
	for k, v := range h.cfg.header {
		req.Header[k] = append([]string(nil), v...)
	}
	if h.e.user != nil && req.Header.Get("Authorization") == "" {
		pw, _ := h.e.user.Password()
		req.SetBasicAuth(h.e.user.Username(), pw)
	}
	return req, nil
}

// get sends a GET with parameters p (ps_t and ps_e set by the caller) and returns its
// body. The idle limit bounds the wait for the response head, as a held poll sends its
// head with its batch, and each read of the body. dialCtx, when not nil, also bounds the
// wait for the head. An answer other than 200 with a binary body is an error; a polysock
// refusal wraps its *polysock.CloseError (handshakeError).
func (h *httpCarrier) get(dialCtx context.Context, p carrierParams) (*bodyReader, error) {
	ctx, cancel := context.WithCancel(h.ctx)
	b := &bodyReader{h: h, cancel: cancel}
	b.timer = time.AfterFunc(time.Hour, b.expire)
	b.timer.Stop()
	if dialCtx != nil {
		stop := context.AfterFunc(dialCtx, cancel)
		defer stop()
	}
	req, err := h.newRequest(ctx, http.MethodGet, p, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	b.arm()
	resp, err := h.cfg.httpClient.Do(req)
	b.timer.Stop()
	if err != nil {
		cancel()
		if dialCtx != nil && dialCtx.Err() != nil {
			return nil, dialCtx.Err()
		}
		return nil, b.fail(err)
	}
	if resp.StatusCode != http.StatusOK {
		err := handshakeError(resp)
		resp.Body.Close()
		cancel()
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != wire.ContentTypeBinary {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("server answered Content-Type %q, want %s", resp.Header.Get("Content-Type"), wire.ContentTypeBinary)
	}
	b.body = resp.Body
	return b, nil
}

// bodyReader reads one GET response body. Each read fails once the carrier's idle limit
// passes without bytes; a clean end of the body is a bare io.EOF, which the frame reader
// takes as the end of a batch.
type bodyReader struct {
	h        *httpCarrier
	body     io.ReadCloser
	cancel   context.CancelFunc // aborts the request
	timer    *time.Timer        // runs expire when the idle limit passes
	timedOut atomic.Bool
}

func (b *bodyReader) expire() {
	b.timedOut.Store(true)
	b.cancel()
}

// arm starts the idle limit, if there is one.
func (b *bodyReader) arm() {
	if d := time.Duration(b.h.idle.Load()); d > 0 {
		b.timer.Reset(d)
	}
}

func (b *bodyReader) Read(p []byte) (int, error) {
	b.arm()
	n, err := b.body.Read(p)
	b.timer.Stop()
	if err != nil && err != io.EOF {
		err = b.fail(err)
	}
	return n, err
}

// fail describes a failed request or read. A wrapped io.ErrUnexpectedEOF (a connection
// cut inside the body) stays a lost carrier, not the end of a batch.
func (b *bodyReader) fail(err error) error {
	switch {
	case b.timedOut.Load():
		return fmt.Errorf("nothing heard from the server for %v", time.Duration(b.h.idle.Load()))
	case b.h.ctx.Err() != nil:
		return errCarrierClosed
	}
	return fmt.Errorf("failed to read %s response: %w", b.h.name, err)
}

// close ends the request and releases its connection.
func (b *bodyReader) close() {
	b.timer.Stop()
	b.body.Close()
	b.cancel()
}
