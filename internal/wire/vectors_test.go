package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// The golden vectors in testdata/vectors.json are shared with the TypeScript codec
// (js/src/wire.ts). Their format is described in the coordinator's brief and repeated in
// vectorFile below; vectorFrame.toFrame enforces which fields each frame type carries.

type vectorFile struct {
	Version        int              `json:"version"`
	Binary         []binaryVector   `json:"binary"`
	Text           []textVector     `json:"text"`
	TextDecodeOnly []textVector     `json:"textDecodeOnly"`
	InvalidBinary  []invalidBinaryV `json:"invalidBinary"`
	InvalidText    []invalidTextV   `json:"invalidText"`
}

type vectorFrame struct {
	Type string  `json:"type"`
	Seq  *uint64 `json:"seq"`
	Code *uint16 `json:"code"`
	Data *string `json:"data"`
	Hex  *string `json:"hex"`
}

type binaryVector struct {
	Name   string        `json:"name"`
	Hex    string        `json:"hex"`
	Frames []vectorFrame `json:"frames"`
}

type textVector struct {
	Name  string      `json:"name"`
	Line  string      `json:"line"`
	Frame vectorFrame `json:"frame"`
}

type invalidBinaryV struct {
	Name  string `json:"name"`
	Hex   string `json:"hex"`
	Error string `json:"error"`
}

type invalidTextV struct {
	Name  string `json:"name"`
	Line  string `json:"line"`
	Error string `json:"error"`
}

var typeByName = map[string]Type{
	"pad": TypePad, "open": TypeOpen, "text": TypeText, "binary": TypeBinary,
	"ack": TypeAck, "ping": TypePing, "pong": TypePong, "close": TypeClose,
}

// toFrame converts a vector frame, checking that it carries exactly the fields its type
// allows, so that the shared file stays unambiguous for both codecs.
func (v vectorFrame) toFrame() (Frame, error) {
	t, ok := typeByName[v.Type]
	if !ok {
		return Frame{}, fmt.Errorf("unknown frame type %q", v.Type)
	}
	f := Frame{Type: t}
	wantSeq := t == TypeText || t == TypeBinary || t == TypeAck
	if (v.Seq != nil) != wantSeq {
		return Frame{}, fmt.Errorf("%s frame: seq present = %v", v.Type, v.Seq != nil)
	}
	if v.Seq != nil {
		f.Seq = *v.Seq
	}
	if v.Code != nil {
		if t != TypeClose {
			return Frame{}, fmt.Errorf("%s frame with a code", v.Type)
		}
		f.Code = *v.Code
	}
	wantData := t == TypeText || t == TypeOpen || (t == TypeClose && f.Code != 0)
	if (v.Data != nil) != wantData {
		return Frame{}, fmt.Errorf("%s frame: data present = %v", v.Type, v.Data != nil)
	}
	if v.Data != nil {
		f.Data = []byte(*v.Data)
	}
	wantHex := t == TypePad || t == TypeBinary || t == TypePing || t == TypePong
	if (v.Hex != nil) != wantHex {
		return Frame{}, fmt.Errorf("%s frame: hex present = %v", v.Type, v.Hex != nil)
	}
	if v.Hex != nil {
		b, err := decodeLowerHex(*v.Hex)
		if err != nil {
			return Frame{}, err
		}
		f.Data = b
	}
	return f, nil
}

func decodeLowerHex(s string) ([]byte, error) {
	if s != strings.ToLower(s) {
		return nil, fmt.Errorf("hex %q is not lowercase", s)
	}
	return hex.DecodeString(s)
}

var (
	vectorsOnce sync.Once
	vectorsVal  *vectorFile
	vectorsErr  error
)

func loadVectorFile() (*vectorFile, error) {
	vectorsOnce.Do(func() {
		raw, err := os.ReadFile("testdata/vectors.json")
		if err != nil {
			vectorsErr = err
			return
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var v vectorFile
		if err := dec.Decode(&v); err != nil {
			vectorsErr = fmt.Errorf("testdata/vectors.json: %w", err)
			return
		}
		vectorsVal = &v
	})
	return vectorsVal, vectorsErr
}

// loadVectors returns the parsed golden vectors or fails the test.
func loadVectors(tb testing.TB) *vectorFile {
	tb.Helper()
	v, err := loadVectorFile()
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func mustFrame(tb testing.TB, name string, v vectorFrame) Frame {
	tb.Helper()
	f, err := v.toFrame()
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return f
}

func mustHex(tb testing.TB, name, s string) []byte {
	tb.Helper()
	b, err := decodeLowerHex(s)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return b
}

// frameEqual compares frames by value; nil and empty Data are equal.
func frameEqual(a, b *Frame) bool {
	return a.Type == b.Type && a.Seq == b.Seq && a.Code == b.Code && bytes.Equal(a.Data, b.Data)
}

func fmtFrame(f *Frame) string {
	return fmt.Sprintf("{%v seq=%d code=%d data=%q}", f.Type, f.Seq, f.Code, f.Data)
}

func cloneFrame(f *Frame) Frame {
	c := *f
	c.Data = bytes.Clone(f.Data)
	return c
}

// errorClass maps a decoder error to the vector file's error names.
func errorClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrTruncated):
		return "truncated"
	case errors.Is(err, ErrInvalidUTF8):
		return "utf8"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	}
	return "other: " + err.Error()
}

func TestVectorFileWellFormed(t *testing.T) {
	v := loadVectors(t)
	if v.Version != 1 {
		t.Fatalf("version = %d, want 1", v.Version)
	}
	names := map[string]bool{}
	check := func(section, name string) {
		if name == "" {
			t.Errorf("%s: entry without a name", section)
		}
		key := section + "/" + name
		if names[key] {
			t.Errorf("%s: duplicate name %q", section, name)
		}
		names[key] = true
	}
	binTypes, textTypes := map[Type]bool{}, map[Type]bool{}
	for _, e := range v.Binary {
		check("binary", e.Name)
		if len(e.Frames) == 0 {
			t.Errorf("binary %q: no frames", e.Name)
		}
		for _, vf := range e.Frames {
			binTypes[mustFrame(t, e.Name, vf).Type] = true
		}
	}
	for _, e := range v.Text {
		check("text", e.Name)
		textTypes[mustFrame(t, e.Name, e.Frame).Type] = true
	}
	for _, e := range v.TextDecodeOnly {
		check("textDecodeOnly", e.Name)
		mustFrame(t, e.Name, e.Frame)
	}
	for _, e := range v.InvalidBinary {
		check("invalidBinary", e.Name)
		mustHex(t, e.Name, e.Hex)
		if e.Error != "malformed" && e.Error != "utf8" && e.Error != "truncated" {
			t.Errorf("invalidBinary %q: error %q", e.Name, e.Error)
		}
	}
	for _, e := range v.InvalidText {
		check("invalidText", e.Name)
		if e.Error != "malformed" && e.Error != "utf8" {
			t.Errorf("invalidText %q: error %q", e.Name, e.Error)
		}
	}
	for typ := TypePad; typ <= TypeClose; typ++ {
		if !binTypes[typ] {
			t.Errorf("no binary vector holds a %v frame", typ)
		}
		if !textTypes[typ] {
			t.Errorf("no text vector holds a %v frame", typ)
		}
	}
}

func TestVectorsBinary(t *testing.T) {
	v := loadVectors(t)
	for _, e := range v.Binary {
		t.Run(e.Name, func(t *testing.T) {
			raw := mustHex(t, e.Name, e.Hex)
			want := make([]Frame, len(e.Frames))
			for i, vf := range e.Frames {
				want[i] = mustFrame(t, e.Name, vf)
			}

			// Decode: DecodeBatch yields exactly the listed frames.
			var got []Frame
			if err := DecodeBatch(raw, func(f *Frame) error {
				got = append(got, cloneFrame(f))
				return nil
			}); err != nil {
				t.Fatalf("DecodeBatch: %v", err)
			}
			if len(got) != len(want) {
				t.Fatalf("DecodeBatch: %d frames, want %d", len(got), len(want))
			}
			for i := range want {
				if !frameEqual(&got[i], &want[i]) {
					t.Errorf("frame %d = %s, want %s", i, fmtFrame(&got[i]), fmtFrame(&want[i]))
				}
			}

			// DecodeBinary frame by frame consumes the same bytes BinaryLen predicts.
			rest := raw
			for i := range want {
				f, n, err := DecodeBinary(rest)
				if err != nil {
					t.Fatalf("DecodeBinary frame %d: %v", i, err)
				}
				if !frameEqual(&f, &want[i]) {
					t.Errorf("DecodeBinary frame %d = %s, want %s", i, fmtFrame(&f), fmtFrame(&want[i]))
				}
				if bl := BinaryLen(&want[i]); bl != n {
					t.Errorf("frame %d: BinaryLen = %d, DecodeBinary consumed %d", i, bl, n)
				}
				rest = rest[n:]
			}
			if len(rest) != 0 {
				t.Errorf("%d bytes left after the listed frames", len(rest))
			}

			// Encode: the concatenated frames are exactly the hex, appended after a prefix.
			enc := []byte("prefix")
			for i := range want {
				enc = AppendBinary(enc, &want[i])
			}
			if !bytes.Equal(enc[6:], raw) || string(enc[:6]) != "prefix" {
				t.Errorf("AppendBinary = %x, want %x", enc[6:], raw)
			}
			// Header plus payload, as writers send them without copying, are the same bytes.
			var split []byte
			for i := range want {
				split = append(AppendBinaryHeader(split, &want[i]), BinaryPayload(&want[i])...)
			}
			if !bytes.Equal(split, raw) {
				t.Errorf("AppendBinaryHeader+BinaryPayload = %x, want %x", split, raw)
			}
		})
	}
}

func TestVectorsText(t *testing.T) {
	v := loadVectors(t)
	var body []byte
	var all []Frame
	for _, e := range v.Text {
		want := mustFrame(t, e.Name, e.Frame)
		all = append(all, want)
		body = append(append(body, e.Line...), '\n')
		t.Run(e.Name, func(t *testing.T) {
			got, err := DecodeText([]byte(e.Line))
			if err != nil {
				t.Fatalf("DecodeText(%q): %v", e.Line, err)
			}
			if !frameEqual(&got, &want) {
				t.Errorf("DecodeText(%q) = %s, want %s", e.Line, fmtFrame(&got), fmtFrame(&want))
			}
			line := AppendText([]byte("x"), &want)
			if string(line[1:]) != e.Line || line[0] != 'x' {
				t.Errorf("AppendText = %q, want %q", line[1:], e.Line)
			}
			// The same frame survives the binary form too.
			bin := AppendBinary(nil, &want)
			back, n, err := DecodeBinary(bin)
			if err != nil || n != len(bin) || !frameEqual(&back, &want) {
				t.Errorf("binary form: %s, %d/%d bytes, %v", fmtFrame(&back), n, len(bin), err)
			}
		})
	}
	// All lines as one text body decode in order.
	var got []Frame
	if err := DecodeTextBatch(body, func(f *Frame) error {
		got = append(got, cloneFrame(f))
		return nil
	}); err != nil {
		t.Fatalf("DecodeTextBatch: %v", err)
	}
	if len(got) != len(all) {
		t.Fatalf("DecodeTextBatch: %d frames, want %d", len(got), len(all))
	}
	for i := range all {
		if !frameEqual(&got[i], &all[i]) {
			t.Errorf("DecodeTextBatch frame %d = %s, want %s", i, fmtFrame(&got[i]), fmtFrame(&all[i]))
		}
	}
}

func TestVectorsTextDecodeOnly(t *testing.T) {
	v := loadVectors(t)
	for _, e := range v.TextDecodeOnly {
		t.Run(e.Name, func(t *testing.T) {
			want := mustFrame(t, e.Name, e.Frame)
			got, err := DecodeText([]byte(e.Line))
			if err != nil {
				t.Fatalf("DecodeText(%q): %v", e.Line, err)
			}
			if !frameEqual(&got, &want) {
				t.Errorf("DecodeText(%q) = %s, want %s", e.Line, fmtFrame(&got), fmtFrame(&want))
			}
			line := AppendText(nil, &want)
			if string(line) == e.Line {
				t.Errorf("AppendText wrote %q: the entry belongs in \"text\"", line)
			}
			again, err := DecodeText(line)
			if err != nil {
				t.Fatalf("DecodeText(AppendText) = %v", err)
			}
			if want.Type == TypePad {
				if again.Type != TypePad {
					t.Errorf("re-decoded %s, want PAD", fmtFrame(&again))
				}
			} else if !frameEqual(&again, &want) {
				t.Errorf("re-decoded %s, want %s", fmtFrame(&again), fmtFrame(&want))
			}
		})
	}
}

func TestVectorsInvalidBinary(t *testing.T) {
	v := loadVectors(t)
	for _, e := range v.InvalidBinary {
		t.Run(e.Name, func(t *testing.T) {
			raw := mustHex(t, e.Name, e.Hex)
			batchErr := DecodeBatch(raw, func(*Frame) error { return nil })
			if e.Error == "truncated" {
				f, n, err := DecodeBinary(raw)
				if err != ErrTruncated || n != 0 {
					t.Errorf("DecodeBinary = %s, %d, %v; want ErrTruncated", fmtFrame(&f), n, err)
				}
				// A complete body that ends inside a frame is malformed.
				if c := errorClass(batchErr); c != "malformed" {
					t.Errorf("DecodeBatch error %v (%s), want malformed", batchErr, c)
				}
				return
			}
			if c := errorClass(batchErr); c != e.Error {
				t.Errorf("DecodeBatch error %v (%s), want %s", batchErr, c, e.Error)
			}
		})
	}
}

func TestVectorsInvalidText(t *testing.T) {
	v := loadVectors(t)
	for _, e := range v.InvalidText {
		t.Run(e.Name, func(t *testing.T) {
			_, err := DecodeText([]byte(e.Line))
			if c := errorClass(err); c != e.Error {
				t.Errorf("DecodeText(%q) error %v (%s), want %s", e.Line, err, c, e.Error)
			}
			if strings.IndexByte(e.Line, '\n') >= 0 {
				return
			}
			// Inside a body, after a good line, the line fails the same way.
			calls := 0
			err = DecodeTextBatch([]byte("a1\n"+e.Line+"\n"), func(*Frame) error { calls++; return nil })
			if c := errorClass(err); c != e.Error || calls != 1 {
				t.Errorf("DecodeTextBatch: error %v (%s) after %d frames, want %s after 1", err, c, calls, e.Error)
			}
		})
	}
}
