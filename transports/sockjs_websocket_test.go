package transports

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// chunkConn is a net.Conn whose reads return the data in the given chunk sizes.
type chunkConn struct {
	net.Conn
	data   []byte
	chunks []int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.chunks) > 0 {
		n = max(1, min(n, c.chunks[0]))
		c.chunks = c.chunks[1:]
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// clientFrame encodes a masked client frame.
func clientFrame(b0 byte, payload []byte, mask [4]byte) []byte {
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n <= 0xffff:
		out = append(out, 0x80|126, byte(n>>8), byte(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	out = append(out, mask[:]...)
	for i, c := range payload {
		out = append(out, c^mask[i%4])
	}
	return out
}

// readFiltered reads everything through a sockjsConn with the given read sizes, using
// read buffers of bufSize bytes.
func readFiltered(t testing.TB, data []byte, chunks []int, bufSize int, cfg sockjsConnConfig) ([]byte, error) {
	c := &sockjsConn{Conn: &chunkConn{data: data, chunks: chunks}, cfg: cfg}
	var out []byte
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// FuzzSockJSConnRead checks the inbound WebSocket filter: whatever the frames and however
// the network splits them, the output is the input without its empty, unfragmented text
// messages, and a message above the limit fails the read.
func FuzzSockJSConnRead(f *testing.F) {
	f.Add([]byte{0, 5, 1, 0, 2, 200, 3, 0}, []byte{1, 2, 3}, uint16(7))
	f.Add([]byte{0, 0, 0, 0}, []byte{1}, uint16(1))
	f.Add([]byte{0, 130, 1, 1}, []byte{200, 1, 5}, uint16(3000))
	f.Fuzz(func(t *testing.T, spec, chunkSpec []byte, bufSize uint16) {
		// spec: pairs (kind, length) → frames; kind%4: 0 text, 1 binary, 2 ping, 3 a
		// fragmented text message (two frames).
		var in, want []byte
		mask := [4]byte{0x12, 0x34, 0x56, 0x78}
		for i := 0; i+1 < len(spec) && len(in) < 1<<20; i += 2 {
			n := int(spec[i+1])
			if spec[i+1] >= 250 {
				n = 70000 // a 64-bit length
			}
			payload := bytes.Repeat([]byte{'x'}, n)
			var fr []byte
			switch spec[i] % 4 {
			case 0:
				fr = clientFrame(0x81, payload, mask)
				in = append(in, fr...)
				if n > 0 {
					want = append(want, fr...)
				}
				continue
			case 1:
				fr = clientFrame(0x82, payload, mask)
			case 2:
				fr = clientFrame(0x89, payload[:min(n, 125)], mask)
			case 3:
				fr = append(clientFrame(0x01, payload, mask), clientFrame(0x80, nil, mask)...)
			}
			in = append(in, fr...)
			want = append(want, fr...)
		}
		var chunks []int
		for _, c := range chunkSpec {
			chunks = append(chunks, int(c))
		}
		size := int(bufSize%8192) + 1
		got, err := readFiltered(t, in, chunks, size, sockjsConnConfig{sockjs: true})
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("filtered %d bytes into %d, want %d (buffer %d, chunks %v)", len(in), len(got), len(want), size, chunks)
		}
		// With a limit below the largest data message, the read fails.
		if _, err := readFiltered(t, in, chunks, size, sockjsConnConfig{sockjs: true, maxMessage: 69999}); bytes.Contains(spec, []byte{250}) && err == nil {
			// a 70000-byte data frame may be only a ping (cut to 125) — only data counts
			hasBigData := false
			for i := 0; i+1 < len(spec); i += 2 {
				if spec[i+1] >= 250 && spec[i]%4 != 2 {
					hasBigData = true
				}
			}
			if hasBigData {
				t.Fatalf("a data message above the limit was let through")
			}
		}
	})
}

func TestSockJSConnReadCases(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	empty := clientFrame(0x81, nil, mask)
	a := clientFrame(0x81, []byte(`["a"]`), mask)
	in := append(append(append(append([]byte{}, empty...), a...), empty...), empty...)
	for size := 1; size <= len(in)+1; size++ {
		for _, chunk := range []int{1, 2, 3, 7, 100} {
			chunks := make([]int, 100)
			for i := range chunks {
				chunks[i] = chunk
			}
			got, err := readFiltered(t, in, chunks, size, sockjsConnConfig{sockjs: true})
			if err != nil || !bytes.Equal(got, a) {
				t.Fatalf("buffer %d, chunks of %d: got %x, %v; want %x", size, chunk, got, err, a)
			}
		}
	}
	// Raw WebSocket (no SockJS framing): empty messages are messages.
	if got, _ := readFiltered(t, in, nil, 64, sockjsConnConfig{}); !bytes.Equal(got, in) {
		t.Errorf("raw: %x, want %x", got, in)
	}
	if _, err := readFiltered(t, a, nil, 64, sockjsConnConfig{sockjs: true, maxMessage: 4}); err != errSockJSTooBig {
		t.Errorf("above the limit: %v", err)
	}
}

// nopConn records writes.
type nopConn struct {
	net.Conn
	buf bytes.Buffer
}

func (c *nopConn) Write(p []byte) (int, error)      { return c.buf.Write(p) }
func (c *nopConn) SetWriteDeadline(time.Time) error { return nil }

func TestSockJSConnWrite(t *testing.T) {
	nc := &nopConn{}
	c := &sockjsConn{Conn: nc, cfg: sockjsConnConfig{sockjs: true}}
	hs := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
	_, _ = c.Write(hs)
	frame := func(b0 byte, p string) []byte { return append(appendFrameHeader(nil, b0, len(p)), p...) }
	long := string(bytes.Repeat([]byte{'y'}, 300))
	// A text frame split header/payload, an empty one, a ping, an escapable one.
	f1 := frame(0x81, `a["`+long+"\u200c"+`"]`)
	_, _ = c.Write(f1[:4])
	_, _ = c.Write(f1[4:])
	_, _ = c.Write(frame(0x81, ""))
	_, _ = c.Write(append(frame(0x89, ""), frame(0x81, "a[\"\uffff\"]")...))
	want := append(append([]byte{}, hs...), frame(0x81, `a["`+long+`\u200c"]`)...)
	want = append(want, frame(0x89, "")...)
	want = append(want, frame(0x81, `a["\uffff"]`)...)
	if !bytes.Equal(nc.buf.Bytes(), want) {
		t.Errorf("wrote\n%q\nwant\n%q", nc.buf.Bytes(), want)
	}
}
