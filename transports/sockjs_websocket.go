package transports

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
)

// sockjsConnConfig says how a hijacked SockJS WebSocket connection is filtered.
type sockjsConnConfig struct {
	maxMessage int64 // an inbound data message above this ends the connection (0: no limit)
	sockjs     bool  // SockJS framing: escape outbound text frames, drop empty inbound ones
}

// errSockJSTooBig ends a WebSocket connection whose client sent a message above the limit.
var errSockJSTooBig = errors.New("transports: SockJS WebSocket message above the limit")

// sockjsConn sits between gorilla (inside sockjs-go) and the network.
//
// Inbound, it drops empty text messages (the protocol says servers ignore them; sockjs-go
// would close the connection) and fails the read when a data message passes maxMessage
// (sockjs-go sets no read limit, so a client could make it buffer any amount).
//
// Outbound, it escapes characters in SockJS text frames as escapeFrames does, and drops
// the empty text message sockjs-go writes when a session ends without a close frame (it
// is no SockJS frame).
type sockjsConn struct {
	net.Conn
	cfg sockjsConnConfig

	// inbound frame parser
	hdr      [14]byte
	hdrLen   int    // header bytes seen of the current frame
	payload  uint64 // payload bytes left of the current frame
	skip     int    // bytes left to drop of an empty text frame
	msgLen   uint64 // payload bytes of the current data message so far
	carry    byte   // a parsed byte to hand out before reading more
	hasCarry bool

	// outbound
	handshake bool   // the 101 response was written
	out       []byte // the start of an incomplete frame
}

func (c *sockjsConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	w := 0
	if c.hasCarry {
		p[0], c.hasCarry, w = c.carry, false, 1
		if len(p) == 1 {
			return 1, nil
		}
	}
	for {
		n, err := c.Conn.Read(p[w:])
		out, ferr := c.filter(p, w, w+n)
		if ferr != nil {
			return 0, ferr
		}
		if out > 0 || err != nil {
			return out, err
		}
	}
}

// filter parses the client's bytes p[from:to] and moves the ones to keep down to p[from:],
// returning the end of the kept bytes. Header bytes pass through as they are parsed; the
// only frames dropped are those starting 0x81 0x80 (an unfragmented, empty, masked text
// message), so a 0x81 at a frame start is decided by its next byte, read from the network
// when p ends there.
func (c *sockjsConn) filter(p []byte, from, to int) (int, error) {
	w, r := from, from
	for r < to {
		switch {
		case c.skip > 0:
			n := min(c.skip, to-r)
			c.skip -= n
			r += n
		case c.payload > 0:
			n := int(min(uint64(to-r), c.payload))
			w += copy(p[w:], p[r:r+n])
			r += n
			c.payload -= uint64(n)
		default:
			b := p[r]
			r++
			if c.hdrLen == 0 && b == 0x81 && c.cfg.sockjs {
				if r < to {
					if p[r] == 0x80 {
						r++
						c.skip = 4 // the masking key
						continue
					}
				} else {
					return c.decideAtEnd(p, w, b)
				}
			}
			if err := c.headerByte(b); err != nil {
				return 0, err
			}
			p[w] = b
			w++
		}
	}
	return w, nil
}

// decideAtEnd handles a 0x81 at a frame start that ends the read: it reads the next byte
// and drops the frame or keeps both bytes (the second one carried to the next Read when p
// is full).
func (c *sockjsConn) decideAtEnd(p []byte, w int, b byte) (int, error) {
	var one [1]byte
	if _, err := io.ReadFull(c.Conn, one[:]); err != nil {
		// Undecided: pass the byte on; gorilla sees the error on its next read.
		if err := c.headerByte(b); err != nil {
			return 0, err
		}
		p[w] = b
		return w + 1, nil
	}
	if one[0] == 0x80 {
		c.skip = 4
		return w, nil
	}
	for _, x := range [2]byte{b, one[0]} {
		if err := c.headerByte(x); err != nil {
			return 0, err
		}
	}
	p[w] = b
	w++
	if w < len(p) {
		p[w] = one[0]
		return w + 1, nil
	}
	c.carry, c.hasCarry = one[0], true
	return w, nil
}

// headerByte adds b to the frame header being parsed; once the header is complete it
// starts the payload and applies the message size limit.
func (c *sockjsConn) headerByte(b byte) error {
	c.hdr[c.hdrLen] = b
	c.hdrLen++
	hl, length, ok := frameHeader(c.hdr[:c.hdrLen])
	if !ok || hl > c.hdrLen {
		return nil
	}
	if opcode := c.hdr[0] & 0x0f; opcode <= 2 { // a data frame: 0 continues a message
		if opcode != 0 {
			c.msgLen = 0
		}
		c.msgLen += length
		if c.cfg.maxMessage > 0 && c.msgLen > uint64(c.cfg.maxMessage) {
			return errSockJSTooBig
		}
	}
	c.hdrLen, c.payload = 0, length
	return nil
}

// Write escapes outbound SockJS text frames. The first write is gorilla's 101 response;
// after it gorilla writes whole frames (an uncompressed message is one frame), the header
// and the payload possibly in two writes, so bytes are held until a frame is complete.
func (c *sockjsConn) Write(p []byte) (int, error) {
	if !c.cfg.sockjs {
		return c.Conn.Write(p)
	}
	if !c.handshake {
		c.handshake = true
		if len(p) < 4 || string(p[len(p)-4:]) != "\r\n\r\n" {
			c.cfg.sockjs = false // not the expected shape: pass everything through
		}
		return c.Conn.Write(p)
	}
	src := p
	if len(c.out) > 0 {
		c.out = append(c.out, p...)
		src = c.out
	}
	var dst []byte // nil while nothing was escaped
	done, copied := 0, 0
	for {
		hl, n, ok := frameHeader(src[done:])
		if !ok || hl > len(src)-done || n > uint64(len(src)-done-hl) {
			break
		}
		frame := src[done : done+hl+int(n)]
		if frame[0] == 0x81 && frame[1]&0x80 == 0 { // a final, unmasked text frame
			switch esc := escapeFrames(frame[hl:]); {
			case n == 0: // not a SockJS frame: sockjs-go's "close" of a session never closed
				dst = append(dst, src[copied:done]...)
				copied = done + len(frame)
			case esc != nil:
				dst = append(dst, src[copied:done]...)
				dst = appendFrameHeader(dst, frame[0], len(esc))
				dst = append(dst, esc...)
				copied = done + len(frame)
			}
		}
		done += len(frame)
	}
	if copied > 0 {
		dst = append(dst, src[copied:done]...)
	} else {
		dst = src[:done]
	}
	if len(dst) > 0 {
		if _, err := c.Conn.Write(dst); err != nil {
			return 0, err
		}
	}
	switch rest := src[done:]; {
	case len(rest) == 0:
		c.out = nil
	case len(c.out) > 0:
		c.out = append(c.out[:0], rest...)
	default:
		c.out = append([]byte(nil), rest...)
	}
	return len(p), nil
}

// frameHeader parses the start of a WebSocket frame: the header's length and the payload
// length. ok is false until b holds the length fields; hdr may still exceed len(b) (the
// masking key).
func frameHeader(b []byte) (hdr int, payload uint64, ok bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	hdr, payload = 2, uint64(b[1]&0x7f)
	switch payload {
	case 126:
		if hdr = 4; len(b) < hdr {
			return 0, 0, false
		}
		payload = uint64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		if hdr = 10; len(b) < hdr {
			return 0, 0, false
		}
		payload = binary.BigEndian.Uint64(b[2:10])
	}
	if b[1]&0x80 != 0 {
		hdr += 4
	}
	return hdr, payload, true
}

func appendFrameHeader(dst []byte, b0 byte, n int) []byte {
	switch {
	case n < 126:
		return append(dst, b0, byte(n))
	case n <= 0xffff:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	}
	dst = append(dst, b0, 127)
	return binary.BigEndian.AppendUint64(dst, uint64(n))
}
