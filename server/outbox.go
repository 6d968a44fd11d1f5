package server

import "github.com/polysock/polysock/internal/wire"

// outMsg is one message written by the application, kept until the client acknowledges it.
type outMsg struct {
	typ  wire.Type
	data []byte
}

// outbox holds the messages with sequence numbers acked+1 … acked+len(msgs): written but not
// yet acknowledged by the client. It is bounded by the session (Options.OutboxBytes).
type outbox struct {
	msgs  []outMsg
	head  int    // msgs[head:] are live
	acked uint64 // sequence number of the last acknowledged message
	bytes int64  // payload bytes of the live messages
}

func (o *outbox) len() int         { return len(o.msgs) - o.head }
func (o *outbox) sent() uint64     { return o.acked + uint64(o.len()) }
func (o *outbox) at(i int) *outMsg { return &o.msgs[o.head+i] }

func (o *outbox) push(typ wire.Type, data []byte) {
	o.msgs = append(o.msgs, outMsg{typ: typ, data: data})
	o.bytes += int64(len(data))
}

// ack drops the messages up to and including sequence number n. n must be between acked
// and sent().
func (o *outbox) ack(n uint64) {
	for o.acked < n {
		m := &o.msgs[o.head]
		o.bytes -= int64(len(m.data))
		*m = outMsg{}
		o.head++
		o.acked++
	}
	if o.head == len(o.msgs) {
		o.msgs, o.head = o.msgs[:0], 0
		if cap(o.msgs) > 1024 {
			o.msgs = nil
		}
	} else if o.head > 64 && o.head*2 > len(o.msgs) {
		n := copy(o.msgs, o.msgs[o.head:])
		clear(o.msgs[n:])
		o.msgs, o.head = o.msgs[:n], 0
	}
}
