package client

import (
	"fmt"

	"github.com/polysock/polysock/internal/wire"
)

// outMsg is one message written by the application.
type outMsg struct {
	typ  wire.Type // TypeText or TypeBinary
	seq  uint64
	data []byte
	cost int64 // bytes charged to the replay buffer
}

// replay is the client→server half of a session (PROTOCOL.md section 6): every message
// written and not yet acknowledged, in sequence order. Its tail, from next on, is the
// outbound queue: messages not yet handed to the current carrier. It is carrier
// independent: a new carrier calls rewind after applying the ack of its OPEN and sends
// everything again. It is not safe for concurrent use (session.mu guards it).
type replay struct {
	msgs        []outMsg // msgs[i].seq == acked+1+i
	next        int      // msgs[:next] were handed to the current carrier
	sent        uint64   // seq of the last message written
	transmitted uint64   // highest seq ever handed to a carrier
	acked       uint64   // the server's cumulative ACK
	bytes       int64    // total cost of msgs
	queuedBytes int64    // cost of msgs[next:]
}

// msgCost is what a message of n payload bytes is charged: its largest binary frame.
func msgCost(n int) int64 {
	return int64(1 + wire.UvarintLen(uint64(n)+8) + 8 + n)
}

// push appends a message (data is kept, not copied) and returns its seq.
func (r *replay) push(typ wire.Type, data []byte) uint64 {
	r.sent++
	c := msgCost(len(data))
	r.msgs = append(r.msgs, outMsg{typ: typ, seq: r.sent, data: data, cost: c})
	r.bytes += c
	r.queuedBytes += c
	return r.sent
}

// queued is the number of messages not yet handed to the current carrier.
func (r *replay) queued() int { return len(r.msgs) - r.next }

// peek returns the next message to hand to the carrier, or nil.
func (r *replay) peek() *outMsg {
	if r.next == len(r.msgs) {
		return nil
	}
	return &r.msgs[r.next]
}

// advance marks the message peek returned as handed to the carrier.
func (r *replay) advance() {
	m := &r.msgs[r.next]
	r.next++
	r.queuedBytes -= m.cost
	r.transmitted = max(r.transmitted, m.seq)
}

// ack applies the server's cumulative ACK n: messages up to n leave the buffer. A lower
// ACK than one already applied is ignored; an ACK of a message never handed to a carrier
// is a protocol error.
func (r *replay) ack(n uint64) error {
	if n <= r.acked {
		return nil
	}
	if n > r.transmitted {
		return fmt.Errorf("ACK %d but only %d messages sent", n, r.transmitted)
	}
	k := int(n - r.acked)
	for i := range k {
		r.bytes -= r.msgs[i].cost
		if i >= r.next { // acknowledged before this carrier sent it again
			r.queuedBytes -= r.msgs[i].cost
		}
	}
	clear(r.msgs[:k]) // drop references to payloads
	r.msgs = r.msgs[k:]
	r.next = max(r.next-k, 0)
	r.acked = n
	return nil
}

// rewind makes every unacknowledged message queued again, for a new carrier.
func (r *replay) rewind() {
	r.next = 0
	r.queuedBytes = r.bytes
}
