package client

import (
	"fmt"
	"sync"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
)

// Protocol timings and thresholds (PROTOCOL.md sections 6, 7 and 9).
const (
	ackDelay      = 100 * time.Millisecond // an accepted message is acknowledged within this
	ackEveryMsgs  = 64                     // ... or at once when this many are unacknowledged
	ackEveryBytes = 64 << 10               // ... or this many payload bytes
	closeTimeout  = 5 * time.Second        // how long a CLOSE waits for its answer
)

// Bounds of the outbound queue (messages written but not yet handed to the carrier):
// Write blocks while it holds queueMsgs messages, or queueBytes bytes and at least one
// message.
const (
	queueMsgs  = 1024
	queueBytes = 1 << 20
)

// maxPongs bounds the PONGs waiting to be sent; the oldest is dropped beyond it.
const maxPongs = 8

// minMaxBody is the smallest maxBody accepted in OPEN: room for any control frame.
const minMaxBody = 256

type sessionState int

const (
	stateOpen      sessionState = iota
	stateClosing                // Close was called: our CLOSE follows the queued messages, then we await the answer
	stateAnswering              // the server's CLOSE arrived: our answer goes out next, then the session ends
	stateFailing                // the server broke the protocol: our CLOSE goes out next, then the session ends
	stateEnded                  // the session is over
)

// session is the state of one polysock session that outlives its carriers: identity and
// limits from OPEN, the inbound sequence and acknowledgement bookkeeping, the replay
// buffer and the close handshake. The carrier-specific code only moves the batches that
// nextBatch builds and feeds the frames it reads to the Conn's reader. All methods are
// safe for concurrent use.
type session struct {
	// Fixed by the OPEN that created the session.
	id, token, protocol string
	maxMessage          int64         // largest payload the server accepts
	maxBody             int           // largest batch the server accepts
	idle                time.Duration // silence after which the carrier is dead; 0 = never

	mu         sync.Mutex
	gen        uint64 // carrier generation: resume increments it; nextBatch serves only the current one
	state      sessionState
	closing    chan struct{}        // closed when state leaves stateOpen
	closeFrame wire.Frame           // our CLOSE, once state is past stateOpen
	closeSent  bool                 // closeFrame went out
	final      *polysock.CloseError // how the session ends once closeFrame went out (answering, failing)
	ended      *polysock.CloseError // how it ended (stateEnded)
	pongs      [][]byte             // PING payloads to answer

	// Server→client.
	accepted     uint64 // messages accepted from the server, in order
	ackSent      uint64 // the count of the last ACK we sent
	unackedMsgs  int    // accepted - ackSent
	unackedBytes int64  // payload bytes of those
	ackDeadline  time.Time

	// Client→server.
	out         replay
	replayLimit int64
	spaceWaited bool          // a Write waits on space
	space       chan struct{} // closed when the outbound queue or the replay buffer shrinks
}

// newSession starts the state of a new session from its validated OPEN. A carrier is dead
// after 2×ping + grace of silence.
func newSession(o *wire.Open, replayLimit int64, grace time.Duration) *session {
	s := &session{
		id:          o.Session,
		token:       o.Token,
		protocol:    o.Protocol,
		maxMessage:  o.MaxMessage,
		maxBody:     int(min(o.MaxBody, wire.MaxSafe)),
		replayLimit: replayLimit,
		closing:     make(chan struct{}),
		space:       make(chan struct{}),
	}
	if o.Ping > 0 {
		s.idle = 2*time.Duration(o.Ping)*time.Millisecond + grace
	}
	return s
}

// checkOpen validates the OPEN that starts a new session on transport, offered protocols.
func checkOpen(body []byte, transport string, offered []string) (*wire.Open, error) {
	o, err := wire.DecodeOpen(body)
	if err != nil {
		return nil, err
	}
	switch {
	case !wire.ValidSessionID(o.Session):
		return nil, fmt.Errorf("OPEN has an invalid session id %q", o.Session)
	case o.Transport != transport:
		return nil, fmt.Errorf("OPEN names transport %q on a %s carrier", o.Transport, transport)
	case o.Resumed:
		return nil, fmt.Errorf("OPEN of a new session says resumed")
	case o.Ack != 0:
		return nil, fmt.Errorf("OPEN of a new session acknowledges %d messages", o.Ack)
	case o.MaxMessage <= 0:
		return nil, fmt.Errorf("OPEN has maxMessage %d", o.MaxMessage)
	case o.MaxBody < minMaxBody:
		return nil, fmt.Errorf("OPEN has maxBody %d, below %d", o.MaxBody, minMaxBody)
	case o.Ping < 0 || o.Timeout < 0 || o.Resume < 0:
		return nil, fmt.Errorf("OPEN has a negative duration")
	case o.Ping > wire.MaxSafe/int64(time.Millisecond):
		return nil, fmt.Errorf("OPEN has ping %d", o.Ping)
	}
	if o.Protocol != "" {
		found := false
		for _, p := range offered {
			found = found || p == o.Protocol
		}
		if !found {
			return nil, fmt.Errorf("OPEN chose subprotocol %q, which was not offered", o.Protocol)
		}
	}
	return &o, nil
}

// checkSize reports whether a message of n bytes can be sent at all: the server accepts
// it and it fits in the replay buffer.
func (s *session) checkSize(n int) error {
	if int64(n) > s.maxMessage {
		return fmt.Errorf("%w: %d bytes, the server accepts at most %d", ErrMessageTooBig, n, s.maxMessage)
	}
	if msgCost(n) > int64(s.maxBody) {
		return fmt.Errorf("%w: %d bytes do not fit in the server's largest batch of %d", ErrMessageTooBig, n, s.maxBody)
	}
	if msgCost(n) > s.replayLimit {
		return fmt.Errorf("%w: a message of %d bytes does not fit in a replay buffer of %d", ErrBufferFull, n, s.replayLimit)
	}
	return nil
}

// enqueue adds a message to the replay buffer and the outbound queue. When either is full
// it returns a channel that is closed once one of them shrinks, and the caller tries
// again. checkSize has made sure that the message fits in an empty replay buffer.
func (s *session) enqueue(typ wire.Type, data []byte) (wait <-chan struct{}, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateOpen:
	case stateEnded:
		return nil, s.ended
	default:
		return nil, ErrClosing
	}
	c := msgCost(len(data))
	if q := s.out.queued(); s.out.bytes+c > s.replayLimit || q >= queueMsgs || q > 0 && s.out.queuedBytes+c > queueBytes {
		s.spaceWaited = true
		return s.space, nil
	}
	s.out.push(typ, data)
	return nil, nil
}

// signalSpace wakes the Writes waiting for the queue or the replay buffer to shrink.
// s.mu is held.
func (s *session) signalSpace() {
	if s.spaceWaited {
		close(s.space)
		s.space = make(chan struct{})
		s.spaceWaited = false
	}
}

// receive checks the sequence number of an inbound data frame: true means it is the next
// message and must be delivered, then committed; false means it is a duplicate to drop.
func (s *session) receive(seq uint64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case seq <= s.accepted:
		return false, nil
	case seq > s.accepted+1:
		return false, protoErr(wire.CloseProtocolError, "sequence gap: message %d after %d", seq, s.accepted)
	}
	return true, nil
}

// commit accepts the message receive approved, whose payload had n bytes. It reports
// whether the writer must be woken: to send an ACK now, or to time one.
func (s *session) commit(n int, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepted++
	s.unackedMsgs++
	s.unackedBytes += int64(n)
	if s.unackedMsgs == 1 {
		s.ackDeadline = now.Add(ackDelay)
		return true
	}
	return s.unackedMsgs >= ackEveryMsgs || s.unackedBytes >= ackEveryBytes
}

// acceptedCount is the number of messages accepted from the server, for ps_ack.
func (s *session) acceptedCount() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// ack applies an inbound ACK.
func (s *session) ack(n uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	before := s.out.bytes
	if err := s.out.ack(n); err != nil {
		return protoErr(wire.CloseProtocolError, "%v", err)
	}
	if s.out.bytes < before {
		s.signalSpace()
	}
	return nil
}

// ping queues the PONG answering an inbound PING.
func (s *session) ping(payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateFailing || s.state == stateEnded {
		return
	}
	if len(s.pongs) == maxPongs {
		s.pongs = append(s.pongs[:0], s.pongs[1:]...)
	}
	s.pongs = append(s.pongs, append([]byte{}, payload...))
}

// startClose begins the close handshake on the application's behalf. It reports false
// when the session is already closing or over.
func (s *session) startClose(code uint16, reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return false
	}
	s.setState(stateClosing)
	s.closeFrame = wire.Frame{Type: wire.TypeClose, Code: code, Data: []byte(reason)}
	return true
}

// peerClose handles the server's CLOSE (code 0 means none). When it answers our own
// CLOSE, peerClose returns the session's end; otherwise it queues our answer and returns
// nil: the writer ends the session once the answer is out.
func (s *session) peerClose(code uint16, reason string) *polysock.CloseError {
	s.mu.Lock()
	defer s.mu.Unlock()
	reported := int(code)
	if code == 0 {
		reported = int(wire.CloseNoStatus)
	}
	if s.state == stateClosing && s.closeSent {
		return &polysock.CloseError{Code: reported, Reason: reason, WasClean: true}
	}
	// The server spoke first (or at the same time as a Close whose CLOSE is still
	// queued): answer with its code.
	s.setState(stateAnswering)
	s.closeFrame = wire.Frame{Type: wire.TypeClose, Code: code, Data: []byte(reason)}
	s.final = &polysock.CloseError{Code: reported, Reason: reason, WasClean: true}
	return nil
}

// resume prepares the session for a new carrier (PROTOCOL.md section 6, rules 4 and 5):
// it applies ack, the server's accepted count that the new carrier reported (its OPEN, or
// the ACK answering a POST), queues every unacknowledged message again, and our CLOSE too
// when it still awaits its answer. The ps_ack of the new carrier's request told the server
// what we accepted, so no ACK is owed. It returns the new carrier generation for
// nextBatch: batches built for an older carrier are no longer served, so none of its
// messages can be marked sent after the rewind.
func (s *session) resume(ack uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.out.ack(ack); err != nil {
		return 0, protoErr(wire.CloseProtocolError, "resumed carrier: %v", err)
	}
	s.out.rewind()
	s.signalSpace()
	if s.state == stateClosing {
		s.closeSent = false
	}
	s.ackSent, s.unackedMsgs, s.unackedBytes = s.accepted, 0, 0
	s.gen++
	return s.gen, nil
}

// generation is the current carrier generation.
func (s *session) generation() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// fail starts ending the session for a protocol error: our CLOSE with its code goes out
// next. It reports false when a CLOSE was already sent, so that no second one may follow.
func (s *session) fail(e *protocolError) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closeSent || s.state == stateEnded {
		return false
	}
	s.setState(stateFailing)
	s.closeFrame = wire.Frame{Type: wire.TypeClose, Code: e.code, Data: []byte(e.reason)}
	s.final = &polysock.CloseError{Code: int(e.code), Reason: e.reason}
	return true
}

// setState moves to state st. s.mu is held.
func (s *session) setState(st sessionState) {
	if s.state == stateOpen {
		close(s.closing)
	}
	s.state = st
}

// end records how the session ended. It reports false when it had already ended.
func (s *session) end(ce *polysock.CloseError) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateEnded {
		return false
	}
	s.setState(stateEnded)
	s.ended = ce
	s.pongs = nil
	s.signalSpace()
	return true
}

// finalError is how the session ends, not cleanly, when the final CLOSE (an answer or a
// failure) cannot be sent; nil when no final CLOSE is pending.
func (s *session) finalError() *polysock.CloseError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final == nil {
		return nil
	}
	ce := *s.final
	ce.WasClean = false
	return &ce
}
