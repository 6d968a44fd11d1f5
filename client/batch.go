package client

import (
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
)

// batch is what the writer sends next.
type batch struct {
	buf   []byte               // binary-form frames; empty when there is nothing to send now
	more  bool                 // more is ready to send at once, in a further batch
	ackAt time.Time            // when a held-back ACK falls due; zero when none is
	final *polysock.CloseError // set when buf ends with the session's last CLOSE (an answer or a failure)
}

// maxBatchData bounds the data payload bytes of one batch, unless it holds a single
// message, as the server's batches are bounded (PROTOCOL.md section 4.3). The server takes
// in a batch only once it has it whole, so small batches keep a session moving on a
// network that cuts connections often, and keep each POST short.
const maxBatchData = 32 << 10

// nextBatch appends to buf the frames to send next, at most maxBody bytes of them
// (PROTOCOL.md section 4.3) and at most maxBatchData bytes of data, and marks them sent. Its order keeps CLOSE after every
// message: queued messages first (all that fit), then an ACK, PONGs, and our CLOSE once no
// message is left. The ACK rides along whenever something else goes out, and goes alone
// when it falls due (ackDelay after the first unacknowledged message, or once
// ackEveryMsgs or ackEveryBytes are unacknowledged). A frame that does not fit waits for
// the next batch; any single frame fits in an empty one (Write and checkOpen see to it).
//
// gen is the carrier generation the batch is for: a batch for an older carrier is empty.
func (s *session) nextBatch(buf []byte, now time.Time, gen uint64) batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b batch
	if s.state == stateEnded || gen != s.gen {
		b.buf = buf
		return b
	}
	fits := func(f *wire.Frame) bool { return len(buf)+wire.BinaryLen(f) <= s.maxBody }

	dataOK := s.state == stateOpen || s.state == stateClosing
	if dataOK && s.out.queued() > 0 {
		data := 0
		for m := s.out.peek(); m != nil; m = s.out.peek() {
			f := wire.Frame{Type: m.typ, Seq: m.seq, Data: m.data}
			if !fits(&f) || data > 0 && data+len(m.data) > maxBatchData {
				b.more = true
				break
			}
			buf = wire.AppendBinary(buf, &f)
			data += len(m.data)
			s.out.advance()
		}
		s.signalSpace()
	}
	closeReady := s.state != stateOpen && !s.closeSent && (!dataOK || s.out.queued() == 0)

	if s.state == stateFailing {
		s.pongs = nil // nothing but the CLOSE
	} else if s.accepted > s.ackSent {
		due := s.unackedMsgs >= ackEveryMsgs || s.unackedBytes >= ackEveryBytes || !now.Before(s.ackDeadline)
		if due || len(buf) > 0 || len(s.pongs) > 0 || closeReady {
			f := wire.Frame{Type: wire.TypeAck, Seq: s.accepted}
			if fits(&f) {
				buf = wire.AppendBinary(buf, &f)
				s.ackSent, s.unackedMsgs, s.unackedBytes = s.accepted, 0, 0
			} else {
				b.more = true
			}
		} else {
			b.ackAt = s.ackDeadline
		}
	}
	for len(s.pongs) > 0 {
		f := wire.Frame{Type: wire.TypePong, Data: s.pongs[0]}
		if !fits(&f) {
			b.more = true
			break
		}
		buf = wire.AppendBinary(buf, &f)
		s.pongs[0] = nil
		s.pongs = s.pongs[1:]
	}
	if closeReady {
		if fits(&s.closeFrame) {
			buf = wire.AppendBinary(buf, &s.closeFrame)
			s.closeSent = true
			b.final = s.final
		} else {
			b.more = true
		}
	}
	b.buf = buf
	return b
}
