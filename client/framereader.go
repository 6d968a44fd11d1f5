package client

import (
	"bufio"
	"io"

	"github.com/polysock/polysock/internal/wire"
)

// Limits on inbound frames other than data frames, whose limit is MaxMessageSize.
const (
	maxOpenBody    = 64 << 10                // OPEN's JSON object
	maxControlBody = 2 + wire.MaxReasonBytes // ACK, PING, PONG, CLOSE
	maxSeqLen      = 8                       // bytes of a sequence number
)

// frameReader decodes binary-form frames from a carrier one at a time, reading each
// frame's header first so that no buffer larger than the limits is ever allocated,
// whatever size of batch the server sends. Inbound PADs are skipped without buffering.
type frameReader struct {
	src        frameSource
	maxMessage int64         // largest data payload accepted
	br         *bufio.Reader // over the current batch
	inBatch    bool
	control    [2 + maxControlBody]byte
}

// frameSource supplies the inbound bytes of a frameReader, as carrier.next does: a
// carrier, or one HTTP response whose head a carrier reads itself.
type frameSource interface {
	next() (io.Reader, error)
}

func newFrameReader(src frameSource, maxMessage int64) *frameReader {
	return &frameReader{src: src, maxMessage: maxMessage, br: bufio.NewReaderSize(nil, 4096)}
}

// errTruncated reports a batch that ends inside a frame.
var errTruncated = protoErr(wire.CloseProtocolError, "batch ends inside a frame")

// next returns the next frame, reading further batches from the carrier as needed. The
// Data of a TEXT or BINARY frame is a fresh buffer the caller may keep; the Data of other
// frames is valid until the next call. Errors are the carrier's (the carrier is lost) or
// a *protocolError (the server broke the protocol).
func (r *frameReader) next() (wire.Frame, error) {
	for {
		if !r.inBatch {
			src, err := r.src.next()
			if err != nil {
				return wire.Frame{}, err
			}
			r.br.Reset(src)
			r.inBatch = true
		}
		t, err := r.br.ReadByte()
		if err == io.EOF { // the end of the batch
			r.inBatch = false
			continue
		}
		if err != nil {
			return wire.Frame{}, err
		}
		f, err := r.frame(wire.Type(t))
		if err == nil && f.Type == wire.TypePad {
			continue
		}
		return f, err
	}
}

// frame reads the rest of a frame whose type byte was t.
func (r *frameReader) frame(t wire.Type) (wire.Frame, error) {
	var head [1 + maxSeqLen]byte
	head[0] = byte(t)
	if t > wire.TypeClose {
		return wire.Frame{}, protoErr(wire.CloseProtocolError, "unknown frame type %#x", byte(t))
	}
	// The body length: a uvarint of at most 8 bytes (wire.DecodeBinary checks the rest).
	var length uint64
	hn := 1
	for shift := uint(0); ; shift += 7 {
		if hn == len(head) {
			return wire.Frame{}, protoErr(wire.CloseProtocolError, "frame length longer than 8 bytes")
		}
		b, err := r.br.ReadByte()
		if err != nil {
			return wire.Frame{}, truncated(err)
		}
		head[hn] = b
		hn++
		length |= uint64(b&0x7f) << shift
		if b < 0x80 {
			if b == 0 && hn > 2 {
				return wire.Frame{}, protoErr(wire.CloseProtocolError, "frame length not minimal")
			}
			break
		}
	}
	if length > wire.MaxSafe {
		return wire.Frame{}, protoErr(wire.CloseProtocolError, "frame length above 2^53-1")
	}
	var buf []byte
	switch t {
	case wire.TypePad:
		if _, err := r.br.Discard(int(length)); err != nil {
			return wire.Frame{}, truncated(err)
		}
		return wire.Frame{Type: wire.TypePad}, nil
	case wire.TypeText, wire.TypeBinary:
		if length > uint64(r.maxMessage)+maxSeqLen {
			return wire.Frame{}, tooBig(length, r.maxMessage)
		}
		buf = make([]byte, hn+int(length))
	case wire.TypeOpen:
		if length > maxOpenBody {
			return wire.Frame{}, protoErr(wire.CloseProtocolError, "OPEN of %d bytes", length)
		}
		buf = make([]byte, hn+int(length))
	default:
		if length > maxControlBody {
			return wire.Frame{}, protoErr(wire.CloseProtocolError, "%v body of %d bytes", t, length)
		}
		buf = r.control[:hn+int(length)]
	}
	copy(buf, head[:hn])
	if _, err := io.ReadFull(r.br, buf[hn:]); err != nil {
		return wire.Frame{}, truncated(err)
	}
	f, _, err := wire.DecodeBinary(buf)
	if err != nil {
		return wire.Frame{}, decodeError(err)
	}
	if f.Type.IsData() && int64(len(f.Data)) > r.maxMessage {
		return wire.Frame{}, tooBig(uint64(len(f.Data)), r.maxMessage)
	}
	return f, nil
}

func tooBig(n uint64, limit int64) error {
	return protoErr(wire.CloseMessageTooBig, "message of %d bytes above the limit of %d", n, limit)
}

// truncated maps the end of a batch inside a frame to a protocol error and passes
// carrier errors through. Carriers return a bare io.EOF only at the end of a batch.
func truncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errTruncated
	}
	return err
}
