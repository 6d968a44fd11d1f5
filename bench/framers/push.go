package framers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// inbox is the receive side of the framers whose messages arrive on a reader goroutine
// (the HTTP transports): the reader delivers decoded messages in order and, when it ends,
// the reason. The queue is bounded: a reader that gets ahead of Recv blocks, which is
// backpressure on the server as with any client.
type inbox struct {
	msgs   chan []byte
	done   chan struct{}
	once   sync.Once
	err    error
	ctx    context.Context // the reader's context; Close cancels it
	cancel context.CancelFunc
}

func newInbox() *inbox {
	ctx, cancel := context.WithCancel(context.Background())
	return &inbox{msgs: make(chan []byte, 4096), done: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// deliver queues m; false when the connection is closed.
func (in *inbox) deliver(m []byte) bool {
	select {
	case in.msgs <- m:
		return true
	case <-in.ctx.Done():
		return false
	}
}

// fail ends the reader with err (the first call wins).
func (in *inbox) fail(err error) {
	in.once.Do(func() {
		in.err = err
		close(in.done)
	})
}

func (in *inbox) Recv(ctx context.Context) ([]byte, error) {
	select {
	case m := <-in.msgs:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-in.done:
		select {
		case m := <-in.msgs:
			return m, nil
		default:
			return nil, in.err
		}
	}
}

func (in *inbox) Close() error {
	in.cancel()
	in.fail(fmt.Errorf("closed"))
	return nil
}

// post sends body to u and returns the answer's body, failing unless the status is want.
func post(ctx context.Context, u, contentType string, body []byte, want int) ([]byte, error) {
	return do(ctx, http.MethodPost, u, contentType, body, want)
}

func do(ctx context.Context, method, u, contentType string, body []byte, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("failed to %s %s: %w", method, u, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("failed to read the answer of %s %s: %w", method, u, err)
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("failed to %s %s: %s: %.200q", method, u, resp.Status, b)
	}
	return b, nil
}
