package framers

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock/bench/loadgen"
)

// PolysockLean speaks the polysock protocol (PROTOCOL.md, version 1) over one WebSocket at
// /ps?ps_v=1 directly, as the other framers speak theirs: no resume, no replay buffer, no
// goroutine of its own. A Send goes out as one batch (one binary WebSocket message) of
// TEXT frames, led by an ACK when messages are unacknowledged; Recv decodes batches,
// checks sequence numbers (a duplicate is dropped, a gap is an error), answers PINGs and
// acknowledges: at once once 64 messages are unacknowledged, else within 100 ms
// (PROTOCOL.md 6, rule 3), so the server's outbox never fills. It measures the server
// with a client as lean as gorilla's echo client, where Polysock("websocket") measures
// the Go client package too.
type PolysockLean struct{}

func (PolysockLean) Name() string { return "polysock-lean/websocket" }

// Frame types and limits of PROTOCOL.md 4.1 that the lean framer uses.
const (
	psPad    = 0x00
	psOpen   = 0x01
	psText   = 0x02
	psBinary = 0x03
	psAck    = 0x04
	psPing   = 0x05
	psPong   = 0x06
	psClose  = 0x07

	psAckEvery   = 64                     // unacknowledged messages that trigger an ACK at once
	psAckDelay   = 100 * time.Millisecond // the latest an ACK may follow a message
	psMaxUvarint = 1<<53 - 1
)

func (PolysockLean) Dial(ctx context.Context, base string) (loadgen.Conn, error) {
	ws, err := dialWS(ctx, wsURL(base, "/ps?ps_v=1"))
	if err != nil {
		return nil, err
	}
	c := &leanConn{wsConn: ws, closed: make(chan struct{})}
	fail := func(err error) (loadgen.Conn, error) {
		ws.Close()
		return nil, fmt.Errorf("failed to open a polysock session: %w", err)
	}
	b, err := ws.read(ctx)
	if err != nil {
		return fail(err)
	}
	frames, err := decodePsBatch(nil, b)
	if err != nil {
		return fail(err)
	}
	if len(frames) == 0 || frames[0].typ != psOpen {
		return fail(errors.New("the first batch does not begin with OPEN"))
	}
	var open struct {
		V       int    `json:"v"`
		SID     string `json:"sid"`
		MaxBody int64  `json:"maxBody"`
	}
	if err := json.Unmarshal(frames[0].data, &open); err != nil {
		return fail(fmt.Errorf("bad OPEN: %w", err))
	}
	if open.V != 1 || open.SID == "" || open.MaxBody <= 0 {
		return fail(fmt.Errorf("bad OPEN %s", frames[0].data))
	}
	c.maxBody = open.MaxBody
	if err := c.take(frames[1:]); err != nil {
		return fail(err)
	}
	return c, nil
}

// psFrame is one decoded frame; data aliases the batch.
type psFrame struct {
	typ  byte
	seq  uint64 // TEXT/BINARY: sequence number; ACK: count
	code uint16 // CLOSE
	data []byte
}

type leanConn struct {
	*wsConn
	maxBody int64

	reading sync.Mutex // held by Recv (and by Close when no Recv is pending); guards:
	pending [][]byte   // received: pending[head:] are not yet returned by Recv
	head    int
	frames  []psFrame // the last batch's frames, reused
	sendBuf []byte    // the batch Send builds, reused (guarded by wsConn.mu)

	mu       sync.Mutex // guards what follows
	sent     uint64     // last sequence number sent
	accepted uint64     // last sequence number accepted from the server
	lastAck  uint64     // last ACK count sent
	ackTimer *time.Timer
	armed    bool // ackTimer runs

	closeOnce sync.Once
	closed    chan struct{} // closed once the server's CLOSE arrived (or the read failed)
	closeErr  error
}

// Send writes msgs as TEXT frames of one batch (more than one when the batch would pass
// maxBody), after an ACK when the server's messages are unacknowledged.
func (c *leanConn) Send(_ context.Context, msgs ...[]byte) error {
	c.wsConn.mu.Lock()
	defer c.wsConn.mu.Unlock()
	c.mu.Lock()
	b := c.sendBuf[:0]
	if c.accepted > c.lastAck {
		b = appendPsUvarintFrame(b, psAck, c.accepted)
		c.lastAck = c.accepted
	}
	start := c.sent
	c.mu.Unlock()
	seq := start
	for _, m := range msgs {
		seq++
		n := len(b)
		b = appendPsData(b, psText, seq, m)
		if int64(len(b)) > c.maxBody && n > 0 {
			if err := c.c.WriteMessage(websocket.BinaryMessage, b[:n]); err != nil {
				return err
			}
			b = appendPsData(b[:0], psText, seq, m)
		}
	}
	c.mu.Lock()
	c.sent = seq
	c.mu.Unlock()
	if cap(b) <= 64<<10 {
		c.sendBuf = b[:0]
	}
	return c.c.WriteMessage(websocket.BinaryMessage, b)
}

// Recv returns the next message, reading batches as needed.
func (c *leanConn) Recv(ctx context.Context) ([]byte, error) {
	c.reading.Lock()
	defer c.reading.Unlock()
	for c.head == len(c.pending) {
		c.pending, c.head = c.pending[:0], 0
		b, err := c.read(ctx)
		if err == nil {
			err = c.takeBatch(b)
		}
		if err != nil {
			c.ended(err)
			return nil, err
		}
	}
	m := c.pending[c.head]
	c.pending[c.head] = nil
	c.head++
	return m, nil
}

// takeBatch decodes and processes one server batch (c.reading held).
func (c *leanConn) takeBatch(b []byte) error {
	frames, err := decodePsBatch(c.frames[:0], b)
	if err == nil {
		err = c.take(frames)
	}
	clear(frames)
	c.frames = frames[:0]
	return err
}

// take processes the frames of one server batch (c.reading held, or Dial).
func (c *leanConn) take(frames []psFrame) error {
	c.mu.Lock()
	accepted, sent := c.accepted, c.sent
	c.mu.Unlock()
	var err error
	for _, f := range frames {
		switch f.typ {
		case psText, psBinary:
			switch {
			case f.seq <= accepted: // a duplicate
				continue
			case f.seq > accepted+1:
				err = fmt.Errorf("sequence gap: message %d after %d", f.seq, accepted)
			default:
				c.pending = append(c.pending, f.data)
				accepted++
				continue
			}
		case psAck:
			if f.seq > sent {
				err = fmt.Errorf("ACK %d beyond the %d messages sent", f.seq, sent)
			}
		case psPing:
			err = c.writeFrame(psPong, f.data)
		case psClose:
			err = fmt.Errorf("the server closed the session: CLOSE %d %q", f.code, f.data)
		case psPong, psPad:
		default:
			err = fmt.Errorf("unexpected frame type %#x", f.typ)
		}
		if err != nil {
			break
		}
	}
	c.mu.Lock()
	c.accepted = accepted
	now := false
	switch {
	case accepted-c.lastAck >= psAckEvery:
		now = true
	case accepted > c.lastAck && !c.armed: // armed once per unacknowledged run, never pushed back
		c.armed = true
		if c.ackTimer == nil {
			c.ackTimer = time.AfterFunc(psAckDelay, c.ackTick)
		} else {
			c.ackTimer.Reset(psAckDelay)
		}
	}
	c.mu.Unlock()
	if now && err == nil {
		err = c.writeAck()
	}
	return err
}

func (c *leanConn) ackTick() {
	c.mu.Lock()
	c.armed = false
	c.mu.Unlock()
	_ = c.writeAck() // a failed write shows up in Recv
}

// writeAck sends an ACK of every message accepted as a batch of its own, unless a Send
// already carried it.
func (c *leanConn) writeAck() error {
	c.wsConn.mu.Lock()
	defer c.wsConn.mu.Unlock()
	c.mu.Lock()
	n := c.accepted
	due := n > c.lastAck
	c.lastAck = max(c.lastAck, n)
	c.mu.Unlock()
	if !due {
		return nil
	}
	return c.c.WriteMessage(websocket.BinaryMessage, appendPsUvarintFrame(nil, psAck, n))
}

func (c *leanConn) writeFrame(typ byte, body []byte) error {
	return c.write(websocket.BinaryMessage, appendPsFrame(nil, typ, body))
}

// ended records the end of the read side and wakes a Close waiting for the server's CLOSE.
func (c *leanConn) ended(err error) {
	c.closeOnce.Do(func() {
		c.closeErr = err
		close(c.closed)
	})
}

// Close closes the session with CLOSE 1000 and waits (at most 5 s) for the server's
// answer, so that the server ends the session at once instead of keeping it for its
// resume window; then it closes the connection. It unblocks a pending Recv.
func (c *leanConn) Close() error {
	c.mu.Lock()
	if c.ackTimer != nil {
		c.ackTimer.Stop()
	}
	c.mu.Unlock()
	body := binary.BigEndian.AppendUint16(nil, 1000)
	if err := c.writeFrame(psClose, body); err == nil {
		_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if c.reading.TryLock() { // no Recv pending: read up to the answer here
			for {
				select {
				case <-c.closed:
				default:
					_, b, err := c.c.ReadMessage()
					if err == nil {
						err = c.takeBatch(b)
					}
					if err != nil {
						c.ended(err)
					}
					continue
				}
				break
			}
			c.reading.Unlock()
		} else { // the pending Recv reads the answer and returns
			select {
			case <-c.closed:
			case <-time.After(5 * time.Second):
			}
		}
	}
	return c.c.Close()
}

// The binary form (PROTOCOL.md 4.1): type:uint8 length:uvarint body[length].

func appendPsFrame(b []byte, typ byte, body []byte) []byte {
	b = append(b, typ)
	b = binary.AppendUvarint(b, uint64(len(body)))
	return append(b, body...)
}

func appendPsUvarintFrame(b []byte, typ byte, n uint64) []byte {
	var body [binary.MaxVarintLen64]byte
	return appendPsFrame(b, typ, binary.AppendUvarint(body[:0], n))
}

func appendPsData(b []byte, typ byte, seq uint64, payload []byte) []byte {
	var head [binary.MaxVarintLen64]byte
	h := binary.AppendUvarint(head[:0], seq)
	b = append(b, typ)
	b = binary.AppendUvarint(b, uint64(len(h)+len(payload)))
	b = append(b, h...)
	return append(b, payload...)
}

// psUvarint decodes a minimal uvarint ≤ 2^53−1 at the start of b.
func psUvarint(b []byte) (uint64, int, error) {
	v, n := binary.Uvarint(b)
	switch {
	case n <= 0:
		return 0, 0, errors.New("bad uvarint")
	case n > 1 && b[n-1] == 0:
		return 0, 0, errors.New("uvarint not minimal")
	case v > psMaxUvarint:
		return 0, 0, errors.New("uvarint above 2^53-1")
	}
	return v, n, nil
}

// decodePsBatch appends the frames of batch b to frames; their data aliases b.
func decodePsBatch(frames []psFrame, b []byte) ([]psFrame, error) {
	for len(b) > 0 {
		typ := b[0]
		if typ > psClose {
			return nil, fmt.Errorf("unknown frame type %#x", typ)
		}
		length, n, err := psUvarint(b[1:])
		if err != nil {
			return nil, fmt.Errorf("frame length: %w", err)
		}
		if uint64(len(b)-1-n) < length {
			return nil, errors.New("truncated frame")
		}
		body := b[1+n : 1+n+int(length)]
		b = b[1+n+int(length):]
		f := psFrame{typ: typ, data: body}
		switch typ {
		case psText, psBinary, psAck:
			v, sn, err := psUvarint(body)
			if err != nil {
				return nil, fmt.Errorf("frame %#x: %w", typ, err)
			}
			if typ == psAck && sn != len(body) {
				return nil, errors.New("ACK with trailing bytes")
			}
			if typ != psAck && v == 0 {
				return nil, errors.New("sequence number 0")
			}
			f.seq, f.data = v, body[sn:]
		case psClose:
			if len(body) == 1 {
				return nil, errors.New("CLOSE body of 1 byte")
			}
			if len(body) >= 2 {
				f.code, f.data = binary.BigEndian.Uint16(body), body[2:]
			}
		}
		frames = append(frames, f)
	}
	return frames, nil
}
