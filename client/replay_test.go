package client

import (
	"testing"

	"github.com/polysock/polysock/internal/wire"
)

func pushN(r *replay, n, size int) {
	for range n {
		r.push(wire.TypeBinary, make([]byte, size))
	}
}

func TestReplayAckBookkeeping(t *testing.T) {
	var r replay
	pushN(&r, 5, 10)
	c := msgCost(10)
	if r.sent != 5 || r.queued() != 5 || r.bytes != 5*c || r.queuedBytes != 5*c {
		t.Fatalf("after 5 pushes: sent %d queued %d bytes %d queuedBytes %d", r.sent, r.queued(), r.bytes, r.queuedBytes)
	}
	for i := uint64(1); i <= 3; i++ {
		if m := r.peek(); m == nil || m.seq != i {
			t.Fatalf("peek = %+v, want seq %d", m, i)
		}
		r.advance()
	}
	if r.transmitted != 3 || r.queued() != 2 || r.queuedBytes != 2*c {
		t.Fatalf("after 3 sent: transmitted %d queued %d queuedBytes %d", r.transmitted, r.queued(), r.queuedBytes)
	}
	if err := r.ack(4); err == nil {
		t.Fatal("ACK of a message never sent was accepted")
	}
	if err := r.ack(2); err != nil {
		t.Fatal(err)
	}
	if r.acked != 2 || len(r.msgs) != 3 || r.msgs[0].seq != 3 || r.next != 1 || r.bytes != 3*c {
		t.Fatalf("after ACK 2: acked %d len %d first %d next %d bytes %d", r.acked, len(r.msgs), r.msgs[0].seq, r.next, r.bytes)
	}
	if err := r.ack(1); err != nil || r.acked != 2 {
		t.Fatalf("a lower ACK was not ignored: err %v acked %d", err, r.acked)
	}
	if m := r.peek(); m == nil || m.seq != 4 {
		t.Fatalf("peek after ACK = %+v, want seq 4", m)
	}
	if err := r.ack(3); err != nil {
		t.Fatal(err)
	}
	if r.next != 0 || r.peek().seq != 4 || r.bytes != 2*c || r.queuedBytes != 2*c {
		t.Fatalf("after ACK 3: next %d bytes %d queuedBytes %d", r.next, r.bytes, r.queuedBytes)
	}
}

func TestReplayRewindSendsEverythingAgain(t *testing.T) {
	var r replay
	pushN(&r, 4, 1)
	for r.peek() != nil {
		r.advance()
	}
	if err := r.ack(1); err != nil {
		t.Fatal(err)
	}
	r.rewind() // a new carrier
	if r.queued() != 3 || r.queuedBytes != r.bytes {
		t.Fatalf("after rewind: queued %d queuedBytes %d bytes %d", r.queued(), r.queuedBytes, r.bytes)
	}
	// The new carrier's OPEN acknowledges two more before they are sent again.
	if err := r.ack(3); err != nil {
		t.Fatal(err)
	}
	if r.queued() != 1 || r.peek().seq != 4 || r.queuedBytes != r.bytes || r.bytes != msgCost(1) {
		t.Fatalf("after ACK 3: queued %d first %d queuedBytes %d bytes %d", r.queued(), r.peek().seq, r.queuedBytes, r.bytes)
	}
	r.advance()
	if err := r.ack(4); err != nil {
		t.Fatal(err)
	}
	if len(r.msgs) != 0 || r.bytes != 0 || r.queuedBytes != 0 || r.next != 0 {
		t.Fatalf("not empty after ACK of all: %+v", r)
	}
}

func TestMsgCostCoversTheFrame(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 1 << 14, 1 << 20} {
		f := wire.Frame{Type: wire.TypeText, Seq: wire.MaxSafe, Data: make([]byte, n)}
		if got := int64(wire.BinaryLen(&f)); got > msgCost(n) {
			t.Errorf("frame of %d bytes takes %d, above its cost %d", n, got, msgCost(n))
		}
	}
}
