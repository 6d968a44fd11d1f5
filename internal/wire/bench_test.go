package wire

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// A realistic 64-byte JSON chat message: it needs escaping in the text form.
const msg64 = `{"type":"chat","room":"lobby","text":"hello, world!","n":123456}`

type benchCase struct {
	name   string
	frames []Frame
}

func benchCases() []benchCase {
	r := rand.New(rand.NewPCG(3, 4))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	if len(msg64) != 64 {
		panic("msg64 is not 64 bytes")
	}
	batch := make([]Frame, 16)
	for i := range batch {
		batch[i] = Frame{Type: TypeText, Seq: 100000 + uint64(i), Data: []byte(msg64)}
	}
	return []benchCase{
		{"text64", []Frame{{Type: TypeText, Seq: 100000, Data: []byte(msg64)}}},
		{"binary64", []Frame{{Type: TypeBinary, Seq: 100000, Data: random(64)}}},
		{"binary16k", []Frame{{Type: TypeBinary, Seq: 100000, Data: random(16 << 10)}}},
		{"batch16x64", batch},
	}
}

var (
	sinkBytes []byte
	sinkFrame Frame
	sinkInt   int
)

func BenchmarkAppendBinary(b *testing.B) {
	for _, bc := range benchCases() {
		b.Run(bc.name, func(b *testing.B) {
			var buf []byte
			for i := range bc.frames {
				buf = AppendBinary(buf, &bc.frames[i])
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = buf[:0]
				for i := range bc.frames {
					buf = AppendBinary(buf, &bc.frames[i])
				}
			}
			sinkBytes = buf
		})
	}
}

func BenchmarkDecodeBinary(b *testing.B) {
	for _, bc := range benchCases() {
		var enc []byte
		for i := range bc.frames {
			enc = AppendBinary(enc, &bc.frames[i])
		}
		if len(bc.frames) == 1 {
			b.Run(bc.name, func(b *testing.B) {
				b.SetBytes(int64(len(enc)))
				b.ReportAllocs()
				for b.Loop() {
					f, _, err := DecodeBinary(enc)
					if err != nil {
						b.Fatal(err)
					}
					sinkFrame = f
				}
			})
			continue
		}
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			n := 0
			count := func(f *Frame) error { n += len(f.Data); return nil }
			for b.Loop() {
				if err := DecodeBatch(enc, count); err != nil {
					b.Fatal(err)
				}
			}
			sinkInt = n
		})
	}
}

func BenchmarkAppendText(b *testing.B) {
	for _, bc := range benchCases()[:2] {
		b.Run(bc.name, func(b *testing.B) {
			f := &bc.frames[0]
			buf := AppendText(nil, f)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendText(buf[:0], f)
			}
			sinkBytes = buf
		})
	}
}

func BenchmarkDecodeText(b *testing.B) {
	for _, bc := range benchCases()[:2] {
		b.Run(bc.name, func(b *testing.B) {
			line := AppendText(nil, &bc.frames[0])
			if f, err := DecodeText(line); err != nil || !bytes.Equal(f.Data, bc.frames[0].Data) {
				b.Fatalf("DecodeText(%q) = %v", line, err)
			}
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				f, err := DecodeText(line)
				if err != nil {
					b.Fatal(err)
				}
				sinkFrame = f
			}
		})
	}
}
