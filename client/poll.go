package client

import (
	"context"
	"io"

	"github.com/polysock/polysock/internal/wire"
)

// pollCarrier is the "poll" transport (PROTOCOL.md section 8.3): held GETs in binary
// form, one at a time, carry server→client batches; POSTs carry client→server batches
// (post.go). The first poll opens the session and brings OPEN. Each later poll carries
// ps_ack, the messages accepted so far (every frame of the previous answer has been
// handed to the Conn when next is called), and goes out as soon as the previous answer,
// possibly empty, has been read.
type pollCarrier struct {
	httpCarrier
	first *bodyReader // the answer to the opening poll, until next returns it
	cur   *bodyReader // the answer being read
}

// dialPoll sends the poll that opens a session; its answer, which starts with OPEN, is
// left for the Conn's frame reader.
func dialPoll(ctx context.Context, e *endpoint, p carrierParams, cfg *config) (carrier, error) {
	c := &pollCarrier{httpCarrier: newHTTPCarrier(wire.TransportPoll, e, cfg)}
	p.transport, p.encoding = wire.TransportPoll, wire.EncodingBinary
	b, err := c.get(ctx, p)
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.first = b
	return c, nil
}

func (c *pollCarrier) next() (io.Reader, error) {
	if c.first != nil {
		c.cur, c.first = c.first, nil
		return c.cur, nil
	}
	if c.cur != nil {
		c.cur.close()
		c.cur = nil
	}
	p := c.params()
	p.transport, p.encoding = wire.TransportPoll, wire.EncodingBinary
	p.ack = c.sess.acceptedCount()
	b, err := c.get(nil, p)
	if err != nil {
		return nil, err
	}
	c.cur = b
	return b, nil
}

// dialPollResume prepares a poll carrier that continues session s: an empty POST asks
// for the server's ACK (PROTOCOL.md section 8.4), which tells what the server accepted,
// since a resumed poll brings no OPEN, and confirms that the session still exists (a
// 4004 refusal otherwise). The first poll, with ps_ack, goes out when the Conn's reader
// calls next. ctx bounds the POST.
func dialPollResume(ctx context.Context, e *endpoint, s *session, cfg *config) (*pollCarrier, uint64, error) {
	c := &pollCarrier{httpCarrier: newHTTPCarrier(wire.TransportPoll, e, cfg)}
	c.bind(s)
	stop := context.AfterFunc(ctx, c.cancel)
	ack, _, err := c.post(nil)
	if !stop() {
		return nil, 0, ctx.Err()
	}
	if err != nil {
		c.cancel()
		return nil, 0, err
	}
	return c, ack, nil
}
