package client

import (
	"errors"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
)

// writeErrorGrace is how long the writer, after a failed send, lets the reader find out
// how the carrier ended (a CLOSE may still be waiting in the receive buffer) before it
// ends the session itself.
const writeErrorGrace = 2 * time.Second

// errAnswering tells readLoop that the server's CLOSE arrived and the writer is sending
// the answer.
var errAnswering = errors.New("answering the server's CLOSE")

// readLoop is the Conn's reader: it decodes inbound frames until the session ends.
func (c *Conn) readLoop() {
	defer c.wg.Done()
	err := c.readFrames()
	var pe *protocolError
	switch {
	case err == nil: // the session has ended
	case err == errAnswering:
		c.await(c.sess.finalError)
	case errors.As(err, &pe):
		c.log.Warn("polysock: protocol error", "code", pe.code, "reason", pe.reason)
		if c.sess.fail(pe) {
			c.nudge()
			c.await(c.sess.finalError)
		} else {
			c.end(&polysock.CloseError{Code: int(pe.code), Reason: pe.reason})
		}
	default:
		if ce := c.sess.finalError(); ce != nil {
			c.end(ce)
		} else {
			c.end(carrierEnd(err))
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
			if ce := c.sess.peerClose(f.Code, string(f.Data)); ce != nil {
				c.end(ce)
				return nil
			}
			c.nudge()
			return errAnswering
		case wire.TypeOpen:
			return protoErr(wire.CloseProtocolError, "OPEN in the middle of a carrier")
		}
	}
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

// writeLoop is the Conn's writer: it sends batches until the session ends.
func (c *Conn) writeLoop() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var buf []byte
	for {
		b := c.sess.nextBatch(buf[:0], time.Now())
		buf = b.buf
		if len(buf) > 0 {
			if err := c.car.send(buf); err != nil {
				c.writeFailed(err)
				return
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
		case <-c.done:
			return
		}
		timer.Stop()
	}
}

// writeFailed ends the session after a failed send, unless the reader ends it first.
func (c *Conn) writeFailed(err error) {
	t := time.NewTimer(writeErrorGrace)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		if ce := c.sess.finalError(); ce != nil {
			c.end(ce)
		} else {
			c.end(carrierEnd(err))
		}
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
