package server

import (
	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
)

// maxServerBatch bounds the data bytes of one server batch; a single larger message goes
// alone.
const maxServerBatch = 64 << 10

// kickLocked starts the writer goroutine when there is a carrier and something to send.
// s.mu must be held. There is at most one writer per session; it leaves the session when
// idle, so an idle session holds no writer goroutine (the goroutine parks in the server's
// pool of idle writers for the next session that needs one: writerpool.go).
func (s *Session) kickLocked() {
	if s.writing || s.car == nil || !s.hasWorkLocked() {
		return
	}
	s.writing = true
	s.srv.writers.run(s)
}

func (s *Session) hasWorkLocked() bool {
	return s.open != nil || s.ackDue || s.pingDue || len(s.pongs) > 0 || s.next < s.out.len() ||
		(s.closeOut != nil && !s.closeOnCar && s.next == s.out.len())
}

// writeLoop drains the session to its carrier, many frames per batch: OPEN, the ACK, PONGs,
// a PING, data in order, and the CLOSE once all data went out.
func (s *Session) writeLoop() {
	for {
		s.mu.Lock()
		c := s.car
		if c == nil || s.endErr != nil || !s.hasWorkLocked() {
			s.writing = false
			s.mu.Unlock()
			return
		}
		frames, closing := s.fillBatchLocked()
		s.sending = c
		s.mu.Unlock()

		err := c.Send(frames)
		clear(frames)

		s.mu.Lock()
		s.sending = nil
		s.batch = frames[:0]
		if cap(frames) > 256 { // a poll may take thousands of frames: don't keep that per session
			s.batch = nil
		}
		if err != nil {
			s.mu.Unlock()
			s.srv.cfg.log.Debug("polysock: carrier failed", "session", s.id, "err", err)
			s.detach(c, &polysock.CloseError{Code: polysock.CloseAbnormal, Reason: "connection lost"})
			// Close it too, so its reader stops now rather than at IdleTimeout.
			c.CloseWith(wire.CloseGoingAway, "write failed")
			continue
		}
		if s.raw && s.car == c {
			s.out.ack(s.out.acked + uint64(s.next))
			s.next = 0
		}
		answered := closing && s.peerClose != nil
		done := false
		if f, ok := c.(finisher); ok && f.Finished() {
			done = true
		}
		s.mu.Unlock()
		if answered {
			s.end(s.peerClose)
		} else if done {
			s.detach(c, nil)
		}
	}
}

func (s *Session) fillBatchLocked() (frames []wire.Frame, closing bool) {
	frames = s.batch[:0]
	if s.open != nil {
		frames = append(frames, *s.open)
		s.open = nil
	}
	if !s.raw && s.accepted > s.lastAck {
		frames = append(frames, wire.Frame{Type: wire.TypeAck, Seq: s.accepted})
		s.lastAck = s.accepted
	}
	s.ackDue = false
	for _, p := range s.pongs {
		frames = append(frames, wire.Frame{Type: wire.TypePong, Data: p})
	}
	clear(s.pongs)
	s.pongs = s.pongs[:0]
	if s.pingDue {
		frames = append(frames, wire.Frame{Type: wire.TypePing})
		s.pingDue = false
	}
	size, limit := 0, maxServerBatch
	if b, ok := s.car.(batchLimiter); ok {
		limit = b.BatchLimit()
	}
	for s.next < s.out.len() {
		m := s.out.at(s.next)
		if size > 0 && size+len(m.data) > limit {
			break
		}
		size += len(m.data)
		frames = append(frames, wire.Frame{Type: m.typ, Seq: s.out.acked + uint64(s.next) + 1, Data: m.data})
		s.next++
	}
	if s.closeOut != nil && !s.closeOnCar && s.next == s.out.len() {
		frames = append(frames, *s.closeOut)
		s.closeOnCar = true
		closing = true
	}
	s.sentTick = true
	return frames, closing
}
