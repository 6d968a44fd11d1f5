package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
)

// ackDelay is how long a receiver may hold back an ACK (PROTOCOL.md section 6, rule 3).
const ackDelay = 100 * time.Millisecond

// ackEvery is how many unacknowledged messages trigger an immediate ACK.
const ackEvery = 64

// errEnded is returned by receive when the session ended while the frame waited.
var errEnded = errors.New("session ended")

// receiveBatch processes one inbound batch (binary form when !text) in order. It blocks
// while the inbox is full, until ctx is done. A protocol violation fails the session and
// is returned as its *polysock.CloseError.
func (s *Session) receiveBatch(ctx context.Context, batch []byte, text bool) error {
	if int64(len(batch)) > s.srv.cfg.MaxBatchSize {
		return s.fail(&polysock.CloseError{Code: polysock.CloseMessageTooBig, Reason: "batch too big"})
	}
	var err error
	if text {
		err = wire.DecodeTextBatch(batch, func(f *wire.Frame) error { return s.receive(ctx, f) })
	} else {
		// Frame by frame rather than wire.DecodeBatch: f stays on the stack.
		for len(batch) > 0 && err == nil {
			var f wire.Frame
			if f, batch, err = wire.NextInBatch(batch); err == nil {
				err = s.receive(ctx, &f)
			}
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, wire.ErrInvalidUTF8):
		return s.fail(&polysock.CloseError{Code: polysock.CloseInvalidPayload, Reason: "invalid UTF-8"})
	case errors.Is(err, wire.ErrMalformed):
		return s.fail(&polysock.CloseError{Code: polysock.CloseProtocolError, Reason: "malformed frame"})
	}
	return err
}

// receive processes one inbound frame.
func (s *Session) receive(ctx context.Context, f *wire.Frame) error {
	switch f.Type {
	case wire.TypeText, wire.TypeBinary:
		return s.receiveData(ctx, f)
	case wire.TypeAck:
		s.mu.Lock()
		if f.Seq > s.out.sent() {
			s.mu.Unlock()
			return s.fail(&polysock.CloseError{Code: polysock.CloseProtocolError, Reason: "ACK beyond last message"})
		}
		if f.Seq > s.out.acked {
			ahead := s.next - int(f.Seq-s.out.acked)
			s.out.ack(f.Seq)
			s.next = max(ahead, 0)
		}
		s.mu.Unlock()
	case wire.TypePing:
		s.mu.Lock()
		s.pongs = append(s.pongs, f.Data)
		s.kickLocked()
		s.mu.Unlock()
	case wire.TypePong, wire.TypePad:
	case wire.TypeClose:
		s.receiveClose(f)
	default: // OPEN is the server's
		return s.fail(&polysock.CloseError{Code: polysock.CloseProtocolError, Reason: "unexpected " + f.Type.String()})
	}
	return nil
}

func (s *Session) receiveData(ctx context.Context, f *wire.Frame) error {
	if int64(len(f.Data)) > s.srv.cfg.MaxMessageSize {
		return s.fail(&polysock.CloseError{Code: polysock.CloseMessageTooBig, Reason: "message too big"})
	}
	typ := polysock.Binary
	if f.Type == wire.TypeText {
		typ = polysock.Text
	}
	for {
		s.mu.Lock()
		switch {
		case s.endErr != nil:
			s.mu.Unlock()
			return errEnded
		case !s.raw && f.Seq <= s.accepted:
			// A duplicate of a replayed message or a retried POST, even one that held the
			// client's CLOSE: checked before "message after CLOSE".
			s.mu.Unlock()
			return nil
		case s.peerClose != nil:
			s.mu.Unlock()
			return s.fail(&polysock.CloseError{Code: polysock.CloseProtocolError, Reason: "message after CLOSE"})
		case !s.raw && f.Seq > s.accepted+1:
			s.mu.Unlock()
			return s.fail(&polysock.CloseError{Code: polysock.CloseProtocolError, Reason: "sequence gap"})
		}
		if len(s.inbox)-s.inHead < s.srv.cfg.ReadQueue {
			s.inbox = append(s.inbox, inMsg{typ: typ, data: f.Data})
			s.accepted++
			if !s.raw {
				s.scheduleAckLocked()
			}
			s.mu.Unlock()
			signal(s.readable)
			return nil
		}
		if s.space == nil { // made on first need: most sessions never fill their inbox
			s.space = make(chan struct{}, 1)
		}
		space := s.space
		s.mu.Unlock()
		select {
		case <-space:
		case <-s.ended:
			return errEnded
		case <-ctx.Done():
			return fmt.Errorf("failed to deliver message: %w", ctx.Err())
		}
	}
}

func (s *Session) scheduleAckLocked() {
	if s.accepted-s.lastAck >= ackEvery {
		s.ackDue = true
		s.kickLocked()
		return
	}
	// Armed once per unacknowledged run, never pushed back: a steady trickle of messages
	// must still be acknowledged within ackDelay of the first (PROTOCOL.md 6, rule 3).
	if s.ackArmed {
		return
	}
	s.ackArmed = true
	if s.ackTimer == nil {
		s.ackTimer = time.AfterFunc(ackDelay, s.ackTick)
	} else {
		s.ackTimer.Reset(ackDelay)
	}
}

func (s *Session) ackTick() {
	s.mu.Lock()
	s.ackArmed = false
	if s.accepted > s.lastAck && s.endErr == nil {
		s.ackDue = true
		s.kickLocked()
	}
	s.mu.Unlock()
}

// receiveClose handles the client's CLOSE: the answer to ours, or the client closing.
func (s *Session) receiveClose(f *wire.Frame) {
	code := int(f.Code)
	if code == 0 {
		code = polysock.CloseNoStatus
	}
	peer := &polysock.CloseError{Code: code, Reason: string(f.Data), WasClean: true}
	s.mu.Lock()
	if s.endErr != nil || s.peerClose != nil {
		s.mu.Unlock()
		return
	}
	if s.closeOut != nil { // the answer to our CLOSE
		ours := &polysock.CloseError{Code: int(s.closeOut.Code), Reason: string(s.closeOut.Data), WasClean: true}
		s.mu.Unlock()
		s.end(ours)
		return
	}
	s.peerClose = peer
	s.closeOut = &wire.Frame{Type: wire.TypeClose, Code: f.Code, Data: f.Data}
	s.closeOnCar = false
	s.closeTimer = time.AfterFunc(s.srv.cfg.CloseTimeout, func() {
		s.end(&polysock.CloseError{Code: code, Reason: peer.Reason})
	})
	s.kickLocked()
	s.mu.Unlock()
}

// attach makes c the session's carrier, replacing any older one, after the client said it
// accepted clientAck messages. The client gets OPEN first, then the replay.
func (s *Session) attach(c carrier, clientAck uint64, resumed bool) error {
	s.mu.Lock()
	if s.endErr != nil {
		s.mu.Unlock()
		return &polysock.CloseError{Code: polysock.CloseUnknownSession, Reason: "unknown session"}
	}
	// A ps_ack below an ACK already received comes from a delayed request: it is ignored,
	// like a lower ACK (PROTOCOL.md section 6, rules 2 and 4).
	if clientAck > s.out.sent() {
		s.mu.Unlock()
		return s.fail(&polysock.CloseError{Code: polysock.CloseProtocolError, Reason: "impossible ack on resume"})
	}
	s.out.ack(max(clientAck, s.out.acked))
	old := s.car
	// A resume: after a lost carrier, over one the client gave up on, or onto another
	// transport; not a poll continuing a poll, nor a stream reopened after recycling.
	if resumed && (s.lost || old != nil || s.transport != c.Transport()) {
		s.srv.resumed.Add(1)
	}
	s.lost = false
	s.car, s.carGen, s.transport = c, s.carGen+1, c.Transport()
	s.next = 0
	// Every carrier begins with OPEN, except a poll that continues a session: the client
	// learns the server's count from the answers to its POSTs (PROTOCOL.md section 5).
	if !s.raw && (!resumed || c.Transport() != wire.TransportPoll) {
		o := s.openFrame(c.Transport(), resumed)
		s.open = &o
		s.lastAck = s.accepted
	} else {
		s.open = nil // an OPEN meant for a replaced carrier must not reach this poll
	}
	s.closeOnCar = false
	if s.resumeTimer != nil {
		s.resumeTimer.Stop()
	}
	if s.pingTimer == nil {
		s.pingTimer = time.AfterFunc(s.srv.cfg.PingInterval, s.pingTick)
	}
	s.kickLocked()
	s.mu.Unlock()
	if old != nil {
		old.CloseWith(wire.CloseReplaced, "replaced by a newer connection")
	}
	return nil
}

func (s *Session) openFrame(transport string, resumed bool) wire.Frame {
	cfg := s.srv.cfg
	o := wire.Open{
		Version: wire.Version, Session: s.id, Token: s.token, Transport: transport,
		Protocol: s.protocol, Resumed: resumed, Ack: s.accepted,
		Ping: cfg.PingInterval.Milliseconds(), Timeout: cfg.IdleTimeout.Milliseconds(),
		Resume: cfg.ResumeWindow.Milliseconds(), MaxMessage: cfg.MaxMessageSize, MaxBody: cfg.MaxBatchSize,
	}
	return o.Frame()
}

// detach drops carrier c (when it is still the current one) after it failed or ended.
// A polysock session then waits Options.ResumeWindow for the client to come back; a raw
// session ends.
func (s *Session) detach(c carrier, cause *polysock.CloseError) {
	s.mu.Lock()
	if s.car != c || s.endErr != nil {
		s.mu.Unlock()
		return
	}
	s.car = nil
	s.lost = cause != nil
	if s.raw {
		s.mu.Unlock()
		s.end(cause)
		return
	}
	s.awaitResumeLocked()
	s.mu.Unlock()
}

// awaitResumeLocked starts the resume window of a session that just lost its carrier.
func (s *Session) awaitResumeLocked() {
	if s.resumeTimer == nil {
		s.resumeTimer = time.AfterFunc(s.srv.cfg.ResumeWindow, s.resumeExpired)
	} else {
		s.resumeTimer.Reset(s.srv.cfg.ResumeWindow)
	}
}

// release drops carrier c, as detach does, when c is a polysock session's current
// carrier and no batch is on its way to it, and reports whether it did. A held poll whose
// hold time passed uses it: when it returns false, a batch or a CLOSE is coming to c (or
// already came), so the poll must wait for that instead of answering empty, or the batch
// (an OPEN, a PONG) would be lost.
func (s *Session) release(c carrier) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.car != c || s.sending == c || s.endErr != nil || s.raw {
		return false
	}
	s.car = nil
	s.awaitResumeLocked()
	return true
}

// answerAck returns the server's accepted count for the ACK that answers a POST, and
// counts that ACK as sent, so that the writer does not send the same ACK again.
func (s *Session) answerAck() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastAck = max(s.lastAck, s.accepted)
	s.ackDue = false
	return s.accepted
}

func (s *Session) resumeExpired() {
	s.mu.Lock()
	waiting := s.car == nil
	s.mu.Unlock()
	if waiting {
		s.end(&polysock.CloseError{Code: polysock.CloseResumeExpired, Reason: "resume window expired"})
	}
}

func (s *Session) pingTick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.endErr != nil {
		return
	}
	if !s.sentTick && s.car != nil {
		s.pingDue = true
		s.kickLocked()
	}
	s.sentTick = false
	s.pingTimer.Reset(s.srv.cfg.PingInterval)
}

// fail ends the session at once because of err, telling the client err's code where the
// carrier can, and returns err.
func (s *Session) fail(err *polysock.CloseError) error {
	s.logFailure(err)
	s.end(err)
	return err
}

func (s *Session) logFailure(err *polysock.CloseError) {
	s.srv.cfg.log.Debug("polysock: session failed", "session", s.id, "code", err.Code, "reason", err.Reason)
}

// end ends the session with err (once): the carrier is closed, Read drains then returns
// err, the context is cancelled and the session leaves the registry.
func (s *Session) end(err *polysock.CloseError) {
	if c := s.finish(err); c != nil {
		closeCarrier(c, err)
	}
}

// endNow is end for a caller that must not wait for the network (Write, on a
// publisher's or broker's delivery path): the carrier, whose writer may be blocked on a
// full connection for up to WriteTimeout, is closed on a goroutine of its own.
func (s *Session) endNow(err *polysock.CloseError) {
	if c := s.finish(err); c != nil {
		go closeCarrier(c, err)
	}
}

// finish does all of end but closing the carrier, which it returns (nil when there is
// none or the session had already ended).
func (s *Session) finish(err *polysock.CloseError) carrier {
	s.mu.Lock()
	if s.endErr != nil {
		s.mu.Unlock()
		return nil
	}
	s.endErr = err
	c := s.car
	s.car = nil
	for _, t := range []*time.Timer{s.pingTimer, s.ackTimer, s.resumeTimer, s.closeTimer} {
		if t != nil {
			t.Stop()
		}
	}
	s.out = outbox{}
	s.pongs = nil
	s.mu.Unlock()
	// Leave the registry before anyone can see the end (Read, Context, Shutdown waiting
	// on ended): a session that has ended no longer counts in Stats or MaxSessions.
	s.srv.remove(s)
	s.srv.leaveAll(s)
	close(s.ended)
	s.cancel()
	signal(s.readable)
	return c
}

// closeCarrier closes c with the code and reason of err.
func closeCarrier(c carrier, err *polysock.CloseError) {
	code := uint16(err.Code)
	if !wire.ValidCloseCode(code) {
		code = wire.CloseNormal
	}
	c.CloseWith(code, err.Reason)
}
