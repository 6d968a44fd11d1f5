package client

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/polysock/polysock/internal/wire"
)

// batchSource is a carrier whose inbound batches are given byte slices: it lets the frame
// decoder be tested on exact bytes, as the wire codec is. next returns io.ErrClosedPipe
// after the last batch.
type batchSource struct{ batches [][]byte }

func (b *batchSource) transport() string { return "test" }
func (b *batchSource) next() (io.Reader, error) {
	if len(b.batches) == 0 {
		return nil, io.ErrClosedPipe
	}
	r := bytes.NewReader(b.batches[0])
	b.batches = b.batches[1:]
	return r, nil
}
func (b *batchSource) send([]byte) error     { return nil }
func (b *batchSource) setIdle(time.Duration) {}
func (b *batchSource) close(uint16, string)  {}

func appendFrames(fs ...wire.Frame) []byte {
	var b []byte
	for i := range fs {
		b = wire.AppendBinary(b, &fs[i])
	}
	return b
}

func readAllFrames(fr *frameReader) ([]wire.Frame, error) {
	var out []wire.Frame
	for {
		f, err := fr.next()
		if err != nil {
			return out, err
		}
		f.Data = bytes.Clone(f.Data)
		out = append(out, f)
	}
}

func TestFrameReaderAcrossBatches(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 100_000)
	src := &batchSource{batches: [][]byte{
		appendFrames(wire.Frame{Type: wire.TypeOpen, Data: []byte(`{}`)}, wire.Frame{Type: wire.TypeText, Seq: 1, Data: []byte("héllo")}),
		{},
		appendFrames(wire.Frame{Type: wire.TypePad, Data: make([]byte, 5000)}, wire.Frame{Type: wire.TypeBinary, Seq: 2, Data: big}),
		appendFrames(wire.Frame{Type: wire.TypeAck, Seq: 7}, wire.Frame{Type: wire.TypePing, Data: []byte("p")},
			wire.Frame{Type: wire.TypeClose, Code: 4321, Data: []byte("bye")}, wire.Frame{Type: wire.TypeClose}),
	}}
	got, err := readAllFrames(newFrameReader(src, 1<<20))
	if err != io.ErrClosedPipe {
		t.Fatalf("error = %v, want the carrier's", err)
	}
	want := []wire.Frame{
		{Type: wire.TypeOpen, Data: []byte(`{}`)},
		{Type: wire.TypeText, Seq: 1, Data: []byte("héllo")},
		{Type: wire.TypeBinary, Seq: 2, Data: big},
		{Type: wire.TypeAck, Seq: 7, Data: []byte{}},
		{Type: wire.TypePing, Data: []byte("p")},
		{Type: wire.TypeClose, Code: 4321, Data: []byte("bye")},
		{Type: wire.TypeClose, Data: []byte{}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Type != w.Type || g.Seq != w.Seq || g.Code != w.Code || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("frame %d = %v/%d/%d/%q, want %v/%d/%d/%q", i, g.Type, g.Seq, g.Code, trunc(g.Data), w.Type, w.Seq, w.Code, trunc(w.Data))
		}
	}
}

func trunc(b []byte) []byte { return b[:min(len(b), 20)] }

func TestFrameReaderErrors(t *testing.T) {
	textFrame := appendFrames(wire.Frame{Type: wire.TypeText, Seq: 1, Data: []byte("ok")})
	badUTF8 := append([]byte{byte(wire.TypeText), 3, 1}, 0xff, 0xfe)
	cases := []struct {
		name  string
		batch []byte
		code  uint16
	}{
		{"unknown type", []byte{9, 0}, 1002},
		{"truncated body", textFrame[:len(textFrame)-1], 1002},
		{"truncated length", []byte{byte(wire.TypeBinary), 0x80}, 1002},
		{"length too long", []byte{byte(wire.TypePad), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 1002},
		{"not minimal", []byte{byte(wire.TypeAck), 0x81, 0x00, 1}, 1002},
		{"seq 0", []byte{byte(wire.TypeBinary), 1, 0}, 1002},
		{"invalid UTF-8", badUTF8, 1007},
		{"too big", appendFrames(wire.Frame{Type: wire.TypeBinary, Seq: 1, Data: make([]byte, 101)}), 1009},
		{"too big length", []byte{byte(wire.TypeText), 0xff, 0xff, 0x03}, 1009},
		{"big ping", append([]byte{byte(wire.TypePing), 126}, make([]byte, 126)...), 1002},
		{"huge control", []byte{byte(wire.TypeClose), 0xff, 0x7f}, 1002},
		{"huge open", []byte{byte(wire.TypeOpen), 0xff, 0xff, 0x7f}, 1002},
		{"bad close code", []byte{byte(wire.TypeClose), 2, 0x03, 0xee}, 1002},
	}
	for _, c := range cases {
		fr := newFrameReader(&batchSource{batches: [][]byte{c.batch}}, 100)
		_, err := readAllFrames(fr)
		var pe *protocolError
		if !errors.As(err, &pe) || pe.code != c.code {
			t.Errorf("%s: error %v, want a protocol error %d", c.name, err, c.code)
		}
	}
}

func TestFrameReaderExactLimit(t *testing.T) {
	fr := newFrameReader(&batchSource{batches: [][]byte{appendFrames(wire.Frame{Type: wire.TypeBinary, Seq: 1 << 40, Data: make([]byte, 100)})}}, 100)
	f, err := fr.next()
	if err != nil || len(f.Data) != 100 {
		t.Fatalf("message of exactly MaxMessageSize: %v", err)
	}
}

// FuzzFrameReader checks that the streaming decoder agrees with wire.DecodeBatch on any
// batch: the same frames (PADs aside) or an error, and never a panic.
func FuzzFrameReader(f *testing.F) {
	f.Add(appendFrames(wire.Frame{Type: wire.TypeText, Seq: 1, Data: []byte("hi")}, wire.Frame{Type: wire.TypeAck, Seq: 3}))
	f.Add(appendFrames(wire.Frame{Type: wire.TypePad, Data: []byte("  ")}, wire.Frame{Type: wire.TypeClose, Code: 1000, Data: []byte("x")}))
	f.Add([]byte{byte(wire.TypeBinary), 0x80})
	f.Fuzz(func(t *testing.T, batch []byte) {
		var want []wire.Frame
		wantErr := wire.DecodeBatch(batch, func(f *wire.Frame) error {
			if f.Type != wire.TypePad {
				want = append(want, wire.Frame{Type: f.Type, Seq: f.Seq, Code: f.Code, Data: bytes.Clone(f.Data)})
			}
			return nil
		})
		got, err := readAllFrames(newFrameReader(&batchSource{batches: [][]byte{batch}}, 1<<20))
		if (wantErr == nil) != (err == io.ErrClosedPipe) {
			t.Fatalf("DecodeBatch error %v, frame reader error %v", wantErr, err)
		}
		if wantErr != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("got %d frames, want %d", len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Type != w.Type || g.Seq != w.Seq || g.Code != w.Code || !bytes.Equal(g.Data, w.Data) {
				t.Fatalf("frame %d = %+v, want %+v", i, g, w)
			}
		}
	})
}
