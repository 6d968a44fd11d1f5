package client

import (
	"context"
	"fmt"
	"io"

	"github.com/polysock/polysock/internal/wire"
)

// streamCarrier is the "stream" transport (PROTOCOL.md section 8.2): a long-lived GET
// response in binary form carries server→client batches, read frame by frame as they
// arrive; POSTs carry client→server batches (post.go). When the server ends a response
// after its byte limit, next opens a new stream GET with ps_sid, ps_tok and ps_ack (the
// messages accepted so far, all of them handed to the Conn before next is called again)
// and continues after its prelude and resumed OPEN, so nothing is lost or repeated.
type streamCarrier struct {
	httpCarrier
	first *bodyReader // the response that dialStream opened, until next returns it
	cur   *bodyReader // the response being read
}

// dialStream opens a stream GET; the response's PAD prelude and OPEN are left for the
// Conn's frame reader.
func dialStream(ctx context.Context, e *endpoint, p carrierParams, cfg *config) (carrier, error) {
	s := &streamCarrier{httpCarrier: newHTTPCarrier(wire.TransportStream, e, cfg)}
	p.transport, p.encoding = wire.TransportStream, wire.EncodingBinary
	b, err := s.get(ctx, p)
	if err != nil {
		s.cancel()
		return nil, err
	}
	s.first = b
	return s, nil
}

func (s *streamCarrier) next() (io.Reader, error) {
	if s.first != nil {
		s.cur, s.first = s.first, nil
		return s.cur, nil
	}
	// The response ended cleanly: the server recycled it.
	if s.cur != nil {
		s.cur.close()
		s.cur = nil
	}
	p := s.params()
	p.transport, p.encoding = wire.TransportStream, wire.EncodingBinary
	p.ack = s.sess.acceptedCount()
	b, err := s.get(nil, p)
	if err != nil {
		return nil, fmt.Errorf("failed to reopen stream: %w", err)
	}
	s.cur = b
	rest, err := s.resumedHead(b)
	if err != nil {
		return nil, err
	}
	return rest, nil
}

// resumedHead reads the prelude and the OPEN that begin a continued stream response,
// checks the OPEN and applies its ack, and returns a reader of the rest of the body.
func (s *streamCarrier) resumedHead(b *bodyReader) (io.Reader, error) {
	fr := newFrameReader(&oneBody{r: b}, s.cfg.maxMessage)
	f, err := fr.next() // PADs skipped
	if err != nil {
		return nil, err
	}
	switch f.Type {
	case wire.TypeOpen:
	case wire.TypeClose:
		return nil, fmt.Errorf("server closed the reopened stream: %w", frameCloseError(&f))
	default:
		return nil, protoErr(wire.CloseProtocolError, "reopened stream starts with %v, not OPEN", f.Type)
	}
	o, err := wire.DecodeOpen(f.Data)
	switch {
	case err != nil:
		return nil, protoErr(wire.CloseProtocolError, "invalid OPEN: %v", err)
	case o.Session != s.sess.id || !o.Resumed || o.Transport != wire.TransportStream:
		return nil, protoErr(wire.CloseProtocolError, "reopened stream's OPEN does not continue the session")
	}
	if err := s.sess.ack(o.Ack); err != nil {
		return nil, err
	}
	return fr.br, nil // what the frame reader buffered, then the rest of the body
}

// oneBody is a frameSource of one response body.
type oneBody struct {
	r    io.Reader
	done bool
}

func (o *oneBody) next() (io.Reader, error) {
	if o.done {
		return nil, io.ErrUnexpectedEOF
	}
	o.done = true
	return o.r, nil
}
