package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// frameReader decodes the frames of an HTTP body in one form.
type frameReader struct {
	enc   transports.Encoding
	br    *bufio.Reader
	buf   []byte       // binary form: bytes read but not decoded
	evt   []wire.Frame // SSE: the rest of the current event
	read  int64        // body bytes consumed
	chunk []byte       // binary form: the read buffer
}

func newFrameReader(enc transports.Encoding, r io.Reader) *frameReader {
	return &frameReader{enc: enc, br: bufio.NewReader(r)}
}

// frame returns the next frame, PAD frames included, with Data copied. It returns io.EOF
// at a clean end of the body, between frames.
func (fr *frameReader) frame() (wire.Frame, error) {
	switch fr.enc {
	case transports.EncodingBinary:
		for {
			f, n, err := wire.DecodeBinary(fr.buf)
			if err == nil {
				f.Data = bytes.Clone(f.Data)
				fr.buf = fr.buf[n:]
				fr.read += int64(n)
				return f, nil
			}
			if !errors.Is(err, wire.ErrTruncated) {
				return f, err
			}
			if fr.chunk == nil {
				fr.chunk = make([]byte, 32<<10)
			}
			if len(fr.buf) == 0 {
				fr.buf = fr.buf[:0:0] // do not grow a buffer whose frames were handed out
			}
			m, rerr := fr.br.Read(fr.chunk)
			fr.buf = append(fr.buf, fr.chunk[:m]...)
			if rerr != nil && m == 0 {
				if rerr == io.EOF && len(fr.buf) > 0 {
					return f, fmt.Errorf("body ends inside a frame: %w", io.ErrUnexpectedEOF)
				}
				return f, rerr
			}
		}
	case transports.EncodingText:
		line, err := fr.br.ReadBytes('\n')
		fr.read += int64(len(line))
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				return wire.Frame{}, fmt.Errorf("body ends inside a line: %w", io.ErrUnexpectedEOF)
			}
			return wire.Frame{}, err
		}
		f, err := wire.DecodeText(line[:len(line)-1])
		f.Data = bytes.Clone(f.Data)
		return f, err
	default:
		for len(fr.evt) == 0 {
			evt, err := fr.event()
			if err != nil {
				return wire.Frame{}, err
			}
			fr.evt = evt
		}
		f := fr.evt[0]
		fr.evt = fr.evt[1:]
		return f, nil
	}
}

// event reads the next SSE event with data lines (comments are skipped) and returns its
// frames.
func (fr *frameReader) event() ([]wire.Frame, error) {
	var frames []wire.Frame
	for {
		line, err := fr.br.ReadBytes('\n')
		fr.read += int64(len(line))
		if err != nil {
			if err == io.EOF && (len(line) > 0 || len(frames) > 0) {
				return nil, fmt.Errorf("body ends inside an event: %w", io.ErrUnexpectedEOF)
			}
			return nil, err
		}
		line = line[:len(line)-1]
		switch {
		case len(line) == 0:
			if len(frames) > 0 {
				return frames, nil
			}
		case line[0] == ':': // a comment: the prelude
		case bytes.HasPrefix(line, []byte("data: ")):
			f, err := wire.DecodeText(line[len("data: "):])
			if err != nil {
				return nil, err
			}
			f.Data = bytes.Clone(f.Data)
			frames = append(frames, f)
		default:
			return nil, fmt.Errorf("unexpected SSE line %q", line)
		}
	}
}

// all reads every frame until the end of the body.
func (fr *frameReader) all() ([]wire.Frame, error) {
	var frames []wire.Frame
	for {
		f, err := fr.frame()
		if err == io.EOF {
			return frames, nil
		}
		if err != nil {
			return frames, err
		}
		frames = append(frames, f)
	}
}
