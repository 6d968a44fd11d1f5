package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
)

// writeErrorGrace is how long the writer, after a failed WebSocket send, lets the reader
// find out how the carrier ended (a close code may still be waiting in the receive
// buffer) before it closes the carrier itself. An HTTP carrier's failed POST tells
// everything at once.
const writeErrorGrace = 2 * time.Second

// errAnswering tells readLoop that the server's CLOSE arrived and the writer is sending
// the answer.
var errAnswering = errors.New("answering the server's CLOSE")

// readLoop is the Conn's reader: it decodes inbound frames until the session ends, and
// when the carrier is lost it resumes the session on a new one (resume.go).
func (c *Conn) readLoop() {
	defer c.wg.Done()
	for {
		err := c.readFrames()
		var pe *protocolError
		switch {
		case err == nil: // the session has ended
			return
		case err == errAnswering:
			c.await(c.sess.finalError)
			return
		case errors.As(err, &pe):
			c.log.Warn("polysock: protocol error", "code", pe.code, "reason", pe.reason)
			if c.sess.fail(pe) {
				c.nudge()
				c.await(c.sess.finalError)
			} else {
				c.end(&polysock.CloseError{Code: int(pe.code), Reason: pe.reason})
			}
			return
		}
		select {
		case <-c.done: // the carrier was closed because the session ended
			return
		default:
		}
		if ce := c.sess.finalError(); ce != nil {
			c.end(ce)
			return
		}
		if c.cfg.reconnects < 0 || !carrierLost(err) {
			c.end(carrierEnd(err))
			return
		}
		if !c.reconnect(err) {
			return
		}
	}
}

// await waits for the writer to end the session after sending the final CLOSE, and ends
// it with fallback() after closeTimeout.
func (c *Conn) await(fallback func() *polysock.CloseError) {
	t := time.NewTimer(closeTimeout)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		c.end(fallback())
	}
}

// readFrames handles inbound frames in order. It returns nil once the session has ended,
// errAnswering after the server's CLOSE, or the error that ends the carrier.
func (c *Conn) readFrames() error {
	for {
		f, err := c.fr.next()
		if err != nil {
			return err
		}
		switch f.Type {
		case wire.TypeText, wire.TypeBinary:
			fresh, err := c.sess.receive(f.Seq)
			if err != nil {
				return err
			}
			if !fresh {
				continue
			}
			typ := polysock.Binary
			if f.Type == wire.TypeText {
				typ = polysock.Text
			}
			if !c.deliver(message{typ: typ, data: f.Data}) {
				return nil
			}
			if c.sess.commit(len(f.Data), time.Now()) {
				c.nudge()
			}
		case wire.TypeAck:
			if err := c.sess.ack(f.Seq); err != nil {
				return err
			}
		case wire.TypePing:
			c.sess.ping(f.Data)
			c.nudge()
		case wire.TypePong:
		case wire.TypeClose:
			if f.Code == wire.CloseReplaced {
				// A carrier-level close (PROTOCOL.md section 9): a newer carrier took over.
				return fmt.Errorf("carrier replaced: %w", frameCloseError(&f))
			}
			if ce := c.sess.peerClose(f.Code, string(f.Data)); ce != nil {
				c.end(ce)
				return nil
			}
			c.nudge()
			return errAnswering
		case wire.TypeOpen:
			if c.staleOpen(&f) {
				continue
			}
			return protoErr(wire.CloseProtocolError, "OPEN in the middle of a carrier")
		}
	}
}

// staleOpen reports whether f, an OPEN inside a poll answer, is one the server had
// queued for an earlier carrier of this session that was replaced before it went out. A
// poll that continues a session has no OPEN of its own (PROTOCOL.md section 5), but the
// server can leave such a stale OPEN queued and send it on the next poll; it says nothing
// new (the ACKs of POSTs carry the server's count) and is skipped.
func (c *Conn) staleOpen(f *wire.Frame) bool {
	if c.Transport() != wire.TransportPoll {
		return false
	}
	o, err := wire.DecodeOpen(f.Data)
	if err != nil || o.Session != c.sess.id || !o.Resumed {
		return false
	}
	c.log.Debug("polysock: skipped a stale OPEN in a poll answer", "open_transport", o.Transport)
	return true
}

// deliver puts m in the read queue, waiting while it is full. Once the close handshake
// has begun it drops m instead of waiting. It reports false when the session ended.
func (c *Conn) deliver(m message) bool {
	select {
	case c.readq <- m:
		return true
	default:
	}
	select {
	case c.readq <- m:
		return true
	case <-c.sess.closing:
		select {
		case c.readq <- m:
		default:
		}
		return true
	case <-c.done:
		return false
	}
}

// writeLoop is the Conn's writer: it sends batches on the current carrier until the
// session ends, and waits for the reader to install a new carrier after a loss.
func (c *Conn) writeLoop() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var buf []byte
	for {
		car, gen, changed := c.current()
		if car == nil {
			select {
			case <-changed:
			case <-c.done:
				return
			}
			continue
		}
		b := c.sess.nextBatch(buf[:0], time.Now(), gen)
		buf = b.buf
		if len(buf) > 0 {
			if err := car.send(buf); err != nil {
				if !c.sendFailed(car, changed, err) {
					return
				}
				continue
			}
			if b.final != nil {
				c.end(b.final)
				return
			}
			continue
		}
		if cap(buf) > 64<<10 {
			buf = nil // keep no large buffer while idle
		}
		if !b.ackAt.IsZero() {
			timer.Reset(time.Until(b.ackAt))
		}
		select {
		case <-c.wake:
		case <-timer.C:
		case <-changed:
		case <-c.done:
			return
		}
		timer.Stop()
	}
}

// sendFailed handles a failed send on car: a refusal with a close code that ends the
// session (a POST answered 4004, 1009...) ends it; any other failure is a lost carrier,
// which the reader resumes, so the writer closes the carrier (after a grace on
// WebSocket) and waits until the reader has dropped it. It reports false once the
// session has ended.
func (c *Conn) sendFailed(car carrier, changed <-chan struct{}, err error) bool {
	var pe *protocolError
	switch {
	case errors.As(err, &pe):
		c.end(&polysock.CloseError{Code: int(pe.code), Reason: pe.reason})
		return false
	case !carrierLost(err):
		if ce := c.sess.finalError(); ce != nil {
			c.end(ce)
		} else {
			c.end(carrierEnd(err))
		}
		return false
	}
	grace := time.Duration(0)
	if car.transport() == wire.TransportWebSocket || c.cfg.reconnects < 0 {
		grace = writeErrorGrace
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.done:
		return false
	case <-changed:
		return true
	case <-t.C:
	}
	if c.cfg.reconnects < 0 {
		if ce := c.sess.finalError(); ce != nil {
			c.end(ce)
		} else {
			c.end(carrierEnd(err))
		}
		return false
	}
	c.log.Debug("polysock: send failed", "transport", car.transport(), "err", err)
	car.close(wire.CloseGoingAway, "send failed")
	select {
	case <-c.done:
		return false
	case <-changed:
		return true
	}
}

// carrierEnd is how a session ends when its carrier is lost with err: with the code of a
// close the server made at the carrier level, else 1006.
func carrierEnd(err error) *polysock.CloseError {
	if ce := closeOf(err); ce != nil {
		return &polysock.CloseError{Code: ce.Code, Reason: ce.Reason}
	}
	return &polysock.CloseError{Code: int(wire.CloseAbnormal), Reason: truncateReason(err.Error())}
}
