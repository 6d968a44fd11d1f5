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
