package wire

import (
	"bytes"
	"errors"
	"testing"
)

// TestDecodeBinarySplitAtEveryOffset feeds every prefix of every golden frame to
// DecodeBinary: each proper prefix is ErrTruncated, the whole frame decodes, and bytes
// after the frame are left alone.
func TestDecodeBinarySplitAtEveryOffset(t *testing.T) {
	v := loadVectors(t)
	for _, e := range v.Binary {
		raw := mustHex(t, e.Name, e.Hex)
		want := mustFrame(t, e.Name, e.Frames[0])
		n := BinaryLen(&want)
		for k := 0; k < n; k++ {
			f, m, err := DecodeBinary(raw[:k])
			if err != ErrTruncated || m != 0 {
				t.Fatalf("%s: DecodeBinary(first %d of %d bytes) = %s, %d, %v; want ErrTruncated",
					e.Name, k, n, fmtFrame(&f), m, err)
			}
		}
		withTail := append(bytes.Clone(raw[:n]), 0xff, 0x00)
		for _, src := range [][]byte{raw[:n], withTail} {
			f, m, err := DecodeBinary(src)
			if err != nil || m != n || !frameEqual(&f, &want) {
				t.Fatalf("%s: DecodeBinary(%d bytes) = %s, %d, %v; want %s, %d", e.Name, len(src),
					fmtFrame(&f), m, err, fmtFrame(&want), n)
			}
		}
	}
}

// TestDecodeBinaryStream plays a stream reader: the batch arrives in chunks of every size
// from 1 to 7 bytes, and frames come out as soon as they are complete, in order.
func TestDecodeBinaryStream(t *testing.T) {
	var frames []Frame
	var stream []byte
	for _, e := range loadVectors(t).Binary {
		stream = append(stream, mustHex(t, e.Name, e.Hex)...)
		for _, vf := range e.Frames {
			frames = append(frames, mustFrame(t, e.Name, vf))
		}
	}
	for chunk := 1; chunk <= 7; chunk++ {
		var buf []byte
		var got []Frame
		for off := 0; off < len(stream); off += chunk {
			buf = append(buf, stream[off:min(off+chunk, len(stream))]...)
			for {
				f, n, err := DecodeBinary(buf)
				if err == ErrTruncated {
					break
				}
				if err != nil {
					t.Fatalf("chunk %d, offset %d: %v", chunk, off, err)
				}
				got = append(got, cloneFrame(&f))
				buf = buf[n:]
			}
		}
		if len(buf) != 0 || len(got) != len(frames) {
			t.Fatalf("chunk %d: %d frames and %d bytes left, want %d frames", chunk, len(got), len(buf), len(frames))
		}
		for i := range frames {
			if !frameEqual(&got[i], &frames[i]) {
				t.Fatalf("chunk %d: frame %d = %s, want %s", chunk, i, fmtFrame(&got[i]), fmtFrame(&frames[i]))
			}
		}
	}
}

// TestDecodeBinaryRejectsImpossibleHeaders checks that a header no body could complete is
// malformed at once, not ErrTruncated: a stream reader must not wait for it.
func TestDecodeBinaryRejectsImpossibleHeaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  []byte
	}{
		{"length varint of 8 continuation bytes", []byte{0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}},
		{"TEXT length 0", []byte{0x02, 0x00}},
		{"BINARY length 0", []byte{0x03, 0x00}},
		{"ACK length 0", []byte{0x04, 0x00}},
		{"ACK length 9", []byte{0x04, 0x09}},
		{"PING length 126", []byte{0x05, 0x7e}},
		{"PONG length 2^53-1", []byte{0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"CLOSE length 1", []byte{0x07, 0x01}},
		{"CLOSE length 126", []byte{0x07, 0x7e, 0x03, 0xe8}},
		{"unknown type", []byte{0x08}},
		{"non-minimal length", []byte{0x00, 0x80, 0x00}},
	} {
		_, n, err := DecodeBinary(tc.src)
		if !errors.Is(err, ErrMalformed) || n != 0 {
			t.Errorf("%s: DecodeBinary(%x) = %d, %v; want ErrMalformed", tc.name, tc.src, n, err)
		}
	}
	// The longest possible headers still wait for their bodies.
	for _, src := range [][]byte{
		{0x04, 0x08},       // ACK of an 8-byte count
		{0x05, 0x7d},       // PING of 125 bytes
		{0x07, 0x7d, 0x03}, // CLOSE with a 123-byte reason
		{0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f}, // PAD of 2^53-1 bytes
	} {
		if _, _, err := DecodeBinary(src); err != ErrTruncated {
			t.Errorf("DecodeBinary(%x) = %v, want ErrTruncated", src, err)
		}
	}
}

func TestDecodeBinaryEmpty(t *testing.T) {
	if _, n, err := DecodeBinary(nil); err != ErrTruncated || n != 0 {
		t.Errorf("DecodeBinary(nil) = %d, %v; want ErrTruncated", n, err)
	}
	calls := 0
	if err := DecodeBatch(nil, func(*Frame) error { calls++; return nil }); err != nil || calls != 0 {
		t.Errorf("DecodeBatch(nil) = %v after %d calls, want nil after 0", err, calls)
	}
}

func TestDecodeBatchStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	batch := []byte{0x04, 0x01, 0x01, 0x04, 0x01, 0x02, 0x08} // ACK 1, ACK 2, then garbage
	var seen []uint64
	err := DecodeBatch(batch, func(f *Frame) error {
		seen = append(seen, f.Seq)
		if f.Seq == 2 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("DecodeBatch = %v, want the callback's error as is", err)
	}
	if len(seen) != 2 || seen[0] != 1 || seen[1] != 2 {
		t.Errorf("callback saw %v, want [1 2]", seen)
	}
	// Without the stop, the garbage after the good frames is reported after them.
	seen = seen[:0]
	err = DecodeBatch(batch, func(f *Frame) error { seen = append(seen, f.Seq); return nil })
	if !errors.Is(err, ErrMalformed) || len(seen) != 2 {
		t.Errorf("DecodeBatch = %v after %v, want ErrMalformed after 2 frames", err, seen)
	}
}

// TestDecodeBinaryAliases documents the contract that decoded Data aliases the input and
// cannot grow into the bytes after the frame.
func TestDecodeBinaryAliases(t *testing.T) {
	src := []byte{0x03, 0x03, 0x01, 'a', 'b', 0x04, 0x01, 0x07}
	f, n, err := DecodeBinary(src)
	if err != nil || n != 5 || string(f.Data) != "ab" {
		t.Fatalf("DecodeBinary = %s, %d, %v", fmtFrame(&f), n, err)
	}
	src[3] = 'z'
	if string(f.Data) != "zb" {
		t.Errorf("Data = %q after changing the input, want it to alias the input", f.Data)
	}
	f.Data = append(f.Data, 'c')
	if src[5] != 0x04 {
		t.Errorf("appending to Data overwrote the next frame")
	}
}

func TestUvarint(t *testing.T) {
	values := []uint64{0, 1, 127, 128, 255, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<28 - 1, 1 << 28,
		1<<35 - 1, 1 << 35, 1<<42 - 1, 1 << 42, 1<<49 - 1, 1 << 49, MaxSafe - 1, MaxSafe}
	for _, v := range values {
		enc := AppendUvarint([]byte{0xaa}, v)[1:]
		wantLen := 1
		for x := v >> 7; x > 0; x >>= 7 {
			wantLen++
		}
		if len(enc) != wantLen || UvarintLen(v) != wantLen {
			t.Errorf("%d: encoded in %d bytes, UvarintLen %d, want %d", v, len(enc), UvarintLen(v), wantLen)
		}
		for i, b := range enc {
			if last := i == len(enc)-1; last == (b >= 0x80) {
				t.Errorf("%d: byte %d of %x has the wrong continuation bit", v, i, enc)
			}
		}
		got, n, err := uvarint(append(enc, 0x55))
		if err != nil || got != v || n != len(enc) {
			t.Errorf("uvarint(%x) = %d, %d, %v; want %d, %d", enc, got, n, err, v, len(enc))
		}
		for k := 0; k < len(enc); k++ {
			if _, n, err := uvarint(enc[:k]); err != ErrTruncated || n != 0 {
				t.Errorf("uvarint(%x) = %d, %v; want ErrTruncated", enc[:k], n, err)
			}
		}
	}
	for _, src := range [][]byte{
		{0x80, 0x00},
		{0xff, 0x80, 0x00},
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},       // 9 bytes or more
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, // 9 bytes
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10},       // 2^53
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},       // 2^56-1
	} {
		if _, n, err := uvarint(src); !errors.Is(err, ErrMalformed) || n != 0 {
			t.Errorf("uvarint(%x) = %d, %v; want ErrMalformed", src, n, err)
		}
	}
}
