package client

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/polysock/polysock/internal/wire"
)

// POST retries: a batch whose POST failed on the network (or was cut short, HTTP 400 with
// close code 1002) is sent again up to postAttempts times in all: the first retry at once
// (the usual failure is a pooled keep-alive connection that died, and the retry gets a
// fresh one), the next ones postRetryWait apart, doubling.
const (
	postAttempts  = 4
	postRetryWait = 50 * time.Millisecond
)

// maxAckBody bounds the body of a POST answer: one ACK frame.
const maxAckBody = 64

// send posts one batch (PROTOCOL.md section 8.4): application/octet-stream, at most
// maxBody bytes, one POST in flight (the session's writer is the only caller). The 200
// answer holds the server's ACK, which send applies to the replay buffer.
//
// A POST that fails on the network is sent again, the same bytes: every earlier batch
// was answered, so the server has accepted every message before this batch and the retry
// starts at its last ACK + 1, as PROTOCOL.md section 6 rule 5 asks. Messages of the batch
// that the failed attempt delivered are dropped by the server as duplicates. A refusal
// with a close code (the session is unknown or failed) is not retried.
func (h *httpCarrier) send(batch []byte) error {
	wait := postRetryWait
	var err error
	for attempt := 1; ; attempt++ {
		var ack uint64
		var retry bool
		ack, retry, err = h.post(batch)
		if err == nil {
			return h.sess.ack(ack)
		}
		if !retry || attempt == postAttempts {
			break
		}
		if attempt == 1 {
			if h.ctx.Err() != nil {
				return errCarrierClosed
			}
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-h.ctx.Done():
			t.Stop()
			return errCarrierClosed
		}
		wait *= 2
	}
	return fmt.Errorf("failed to POST: %w", err)
}

// post makes one attempt and returns the server's ACK, or the error and whether a retry
// may succeed.
func (h *httpCarrier) post(batch []byte) (ack uint64, retry bool, err error) {
	p := h.params()
	p.noAck = true
	req, err := h.newRequest(h.ctx, http.MethodPost, p, bytes.NewReader(batch))
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Content-Type", wire.ContentTypeBinary)
	resp, err := h.cfg.httpClient.Do(req)
	if err != nil {
		if h.ctx.Err() != nil {
			return 0, false, errCarrierClosed
		}
		return 0, true, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := handshakeError(resp)
		ce := closeOf(err)
		// 400 with 1002 is also the answer to a body cut short, which the server did not
		// process; a real protocol error ends the session and the retry learns it (4004).
		retry := ce == nil && resp.StatusCode >= 500 ||
			resp.StatusCode == http.StatusBadRequest && ce != nil && ce.Code == int(wire.CloseProtocolError)
		return 0, retry, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAckBody+1))
	if err != nil {
		if h.ctx.Err() != nil {
			return 0, false, errCarrierClosed
		}
		return 0, true, fmt.Errorf("failed to read POST answer: %w", err)
	}
	var got []wire.Frame
	if len(body) <= maxAckBody {
		err = wire.DecodeBatch(body, func(f *wire.Frame) error {
			got = append(got, *f)
			return nil
		})
	}
	if err != nil || len(got) != 1 || got[0].Type != wire.TypeAck {
		return 0, false, protoErr(wire.CloseProtocolError, "POST answer is not one ACK frame")
	}
	return got[0].Seq, false, nil
}
