package client

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/polysock/polysock/internal/wire"
)

func testSession(maxBody int) *session {
	return newSession(&wire.Open{Session: "s", Token: "t", MaxMessage: 1 << 20, MaxBody: int64(maxBody)}, 8<<20, DefaultLivenessGrace)
}

func decodeAll(t *testing.T, b []byte) []wire.Frame {
	t.Helper()
	var fs []wire.Frame
	if err := wire.DecodeBatch(b, func(f *wire.Frame) error {
		g := *f
		g.Data = bytes.Clone(f.Data)
		fs = append(fs, g)
		return nil
	}); err != nil {
		t.Fatalf("batch does not decode: %v", err)
	}
	return fs
}

func TestNextBatchSplitsAtMaxBody(t *testing.T) {
	const maxBody = 300
	s := testSession(maxBody)
	for i := range 20 {
		if _, err := s.enqueue(wire.TypeBinary, bytes.Repeat([]byte{byte(i)}, 40+i)); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	var next uint64 = 1
	for batches := 0; ; batches++ {
		if batches > 20 {
			t.Fatal("no progress")
		}
		b := s.nextBatch(nil, now, 0)
		if len(b.buf) == 0 {
			if b.more {
				t.Fatal("empty batch but more")
			}
			break
		}
		if len(b.buf) > maxBody {
			t.Fatalf("batch of %d bytes above maxBody %d", len(b.buf), maxBody)
		}
		for _, f := range decodeAll(t, b.buf) {
			i := int(next - 1)
			if f.Type != wire.TypeBinary || f.Seq != next || !bytes.Equal(f.Data, bytes.Repeat([]byte{byte(i)}, 40+i)) {
				t.Fatalf("frame %v seq %d len %d, want BINARY seq %d len %d", f.Type, f.Seq, len(f.Data), next, 40+i)
			}
			next++
		}
	}
	if next != 21 {
		t.Fatalf("sent %d messages, want 20", next-1)
	}
}

func TestNextBatchAcks(t *testing.T) {
	s := testSession(1000)
	now := time.Now()
	if !s.commit(5, now) {
		t.Fatal("first unacknowledged message does not wake the writer")
	}
	// Not due, nothing else to send: held back, with its deadline.
	b := s.nextBatch(nil, now, 0)
	if len(b.buf) != 0 || !b.ackAt.Equal(now.Add(ackDelay)) {
		t.Fatalf("batch %x ackAt %v, want nothing until %v", b.buf, b.ackAt, now.Add(ackDelay))
	}
	// Due: alone.
	b = s.nextBatch(nil, now.Add(ackDelay), 0)
	fs := decodeAll(t, b.buf)
	if len(fs) != 1 || fs[0].Type != wire.TypeAck || fs[0].Seq != 1 {
		t.Fatalf("due ACK batch = %+v, want ACK 1", fs)
	}
	if b = s.nextBatch(nil, now.Add(time.Hour), 0); len(b.buf) != 0 || !b.ackAt.IsZero() {
		t.Fatalf("ACK sent twice: %x %v", b.buf, b.ackAt)
	}
	// Piggybacked on a message.
	s.commit(5, now)
	if _, err := s.enqueue(wire.TypeText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	fs = decodeAll(t, s.nextBatch(nil, now, 0).buf)
	if len(fs) != 2 || fs[0].Type != wire.TypeText || fs[1].Type != wire.TypeAck || fs[1].Seq != 2 {
		t.Fatalf("batch = %+v, want TEXT then ACK 2", fs)
	}
	// Piggybacked on a PONG.
	s.commit(5, now)
	s.ping([]byte("p"))
	fs = decodeAll(t, s.nextBatch(nil, now, 0).buf)
	if len(fs) != 2 || fs[0].Type != wire.TypeAck || fs[0].Seq != 3 || fs[1].Type != wire.TypePong || string(fs[1].Data) != "p" {
		t.Fatalf("batch = %+v, want ACK 3 then PONG p", fs)
	}
}

func TestNextBatchAckAtThresholds(t *testing.T) {
	now := time.Now()
	s := testSession(1000)
	for i := 1; i < ackEveryMsgs; i++ {
		if s.commit(1, now) != (i == 1) {
			t.Fatalf("commit %d woke the writer: %v", i, i != 1)
		}
	}
	if len(s.nextBatch(nil, now, 0).buf) != 0 {
		t.Fatal("ACK sent before the threshold")
	}
	if !s.commit(1, now) {
		t.Fatalf("message %d does not wake the writer", ackEveryMsgs)
	}
	fs := decodeAll(t, s.nextBatch(nil, now, 0).buf)
	if len(fs) != 1 || fs[0].Seq != ackEveryMsgs {
		t.Fatalf("batch = %+v, want ACK %d", fs, ackEveryMsgs)
	}
	s.commit(ackEveryBytes-1, now)
	if len(s.nextBatch(nil, now, 0).buf) != 0 {
		t.Fatal("ACK sent below the byte threshold")
	}
	if !s.commit(1, now) {
		t.Fatal("byte threshold does not wake the writer")
	}
	if fs := decodeAll(t, s.nextBatch(nil, now, 0).buf); len(fs) != 1 || fs[0].Seq != ackEveryMsgs+2 {
		t.Fatalf("batch = %+v, want ACK %d", fs, ackEveryMsgs+2)
	}
}

func TestNextBatchCloseFollowsMessages(t *testing.T) {
	s := testSession(300)
	for range 5 {
		if _, err := s.enqueue(wire.TypeBinary, make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if !s.startClose(4000+123, "bye") {
		t.Fatal("startClose refused")
	}
	if _, err := s.enqueue(wire.TypeBinary, nil); err != ErrClosing {
		t.Fatalf("enqueue while closing = %v, want ErrClosing", err)
	}
	var got []wire.Frame
	for range 10 {
		b := s.nextBatch(nil, time.Now(), 0)
		if len(b.buf) == 0 {
			break
		}
		if b.final != nil {
			t.Fatal("our own CLOSE ends the session before the answer")
		}
		got = append(got, decodeAll(t, b.buf)...)
	}
	if len(got) != 6 || got[5].Type != wire.TypeClose || got[5].Code != 4123 || string(got[5].Data) != "bye" {
		t.Fatalf("frames = %+v, want 5 messages then CLOSE 4123 bye", got)
	}
	for i, f := range got[:5] {
		if f.Type != wire.TypeBinary || f.Seq != uint64(i+1) {
			t.Fatalf("frame %d = %v %d", i, f.Type, f.Seq)
		}
	}
	if ce := s.peerClose(4123, "bye"); ce == nil || !ce.WasClean || ce.Code != 4123 {
		t.Fatalf("answer handled as %+v, want a clean end with 4123", ce)
	}
}

func TestNextBatchAnswerAndFailure(t *testing.T) {
	s := testSession(300)
	if _, err := s.enqueue(wire.TypeBinary, []byte("queued")); err != nil {
		t.Fatal(err)
	}
	s.commit(1, time.Now())
	if ce := s.peerClose(0, ""); ce != nil {
		t.Fatalf("peerClose ended at once: %+v", ce)
	}
	b := s.nextBatch(nil, time.Now(), 0)
	fs := decodeAll(t, b.buf)
	if len(fs) != 2 || fs[0].Type != wire.TypeAck || fs[1].Type != wire.TypeClose || fs[1].Code != 0 {
		t.Fatalf("answer batch = %+v, want ACK then an empty CLOSE (no message after the server's CLOSE)", fs)
	}
	if b.final == nil || b.final.Code != 1005 || !b.final.WasClean {
		t.Fatalf("final = %+v, want clean 1005", b.final)
	}

	s = testSession(300)
	if _, err := s.enqueue(wire.TypeBinary, []byte("queued")); err != nil {
		t.Fatal(err)
	}
	s.commit(1, time.Now())
	s.ping([]byte("x"))
	if !s.fail(protoErr(wire.CloseProtocolError, "gap")) {
		t.Fatal("fail refused")
	}
	b = s.nextBatch(nil, time.Now(), 0)
	fs = decodeAll(t, b.buf)
	if len(fs) != 1 || fs[0].Type != wire.TypeClose || fs[0].Code != 1002 || string(fs[0].Data) != "gap" {
		t.Fatalf("failure batch = %+v, want CLOSE 1002 gap alone", fs)
	}
	if b.final == nil || b.final.Code != 1002 || b.final.WasClean {
		t.Fatalf("final = %+v, want unclean 1002", b.final)
	}
	if s.fail(protoErr(wire.CloseProtocolError, "again")) {
		t.Fatal("a second CLOSE may be sent")
	}
}

func TestEnqueueBounds(t *testing.T) {
	s := newSession(&wire.Open{Session: "s", Token: "t", MaxMessage: 1 << 20, MaxBody: 2 << 20}, 3*msgCost(100), DefaultLivenessGrace)
	for range 3 {
		if w, err := s.enqueue(wire.TypeBinary, make([]byte, 100)); w != nil || err != nil {
			t.Fatalf("enqueue = %v, %v", w, err)
		}
	}
	w, err := s.enqueue(wire.TypeBinary, make([]byte, 1))
	if w == nil || err != nil {
		t.Fatalf("enqueue past the replay bound = %v, %v; want a channel", w, err)
	}
	for s.out.peek() != nil {
		s.out.advance()
	}
	if err := s.ack(2); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w:
	default:
		t.Fatal("an ACK did not signal space")
	}
	if w, err := s.enqueue(wire.TypeBinary, make([]byte, 100)); w != nil || err != nil {
		t.Fatalf("enqueue after ACK = %v, %v", w, err)
	}

	// The outbound queue: by count, and by bytes once it holds a message.
	s = testSession(2 << 20)
	for range queueMsgs {
		if w, err := s.enqueue(wire.TypeBinary, nil); w != nil || err != nil {
			t.Fatalf("enqueue = %v, %v", w, err)
		}
	}
	w, err = s.enqueue(wire.TypeBinary, nil)
	if w == nil || err != nil {
		t.Fatalf("enqueue into a full queue = %v, %v; want a channel", w, err)
	}
	s.nextBatch(nil, time.Now(), 0)
	select {
	case <-w:
	default:
		t.Fatal("sending did not signal space")
	}
	s = testSession(2 << 20)
	if w, err := s.enqueue(wire.TypeBinary, make([]byte, queueBytes)); w != nil || err != nil {
		t.Fatalf("a message of queueBytes into an empty queue = %v, %v", w, err)
	}
	if w, _ := s.enqueue(wire.TypeBinary, make([]byte, 1)); w == nil {
		t.Fatal("queue above queueBytes takes more")
	}
}

func TestCheckSize(t *testing.T) {
	s := newSession(&wire.Open{Session: "s", Token: "t", MaxMessage: 1000, MaxBody: 500}, 8<<20, DefaultLivenessGrace)
	if err := s.checkSize(400); err != nil {
		t.Fatal(err)
	}
	if err := s.checkSize(499); !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("a message whose frame passes maxBody: %v", err)
	}
	s = newSession(&wire.Open{Session: "s", Token: "t", MaxMessage: 10, MaxBody: 500}, 8<<20, DefaultLivenessGrace)
	if err := s.checkSize(11); !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("a message above maxMessage: %v", err)
	}
	s = newSession(&wire.Open{Session: "s", Token: "t", MaxMessage: 1000, MaxBody: 5000}, msgCost(100), DefaultLivenessGrace)
	if err := s.checkSize(100); err != nil {
		t.Fatal(err)
	}
	if err := s.checkSize(101); !errors.Is(err, ErrBufferFull) {
		t.Fatalf("a message above the replay buffer: %v", err)
	}
}
