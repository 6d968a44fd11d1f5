package loadgen

import (
	"bytes"
	"fmt"
	"strconv"
)

// Append appends one message of exactly size bytes (or the header alone when size is
// smaller): "<id>:<seq>:<unix nanoseconds>:" followed by filler letters that depend on seq
// and the position, so that a message delivered with another's body, truncated or altered
// fails Parse. The message is printable ASCII without quotes or backslashes, so that it
// passes through JSON-based protocols unescaped. id must not contain ':'.
func Append(dst []byte, id string, seq uint64, sentNanos int64, size int) []byte {
	start := len(dst)
	dst = append(dst, id...)
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, sentNanos, 10)
	dst = append(dst, ':')
	for i := len(dst) - start; i < size; i++ {
		dst = append(dst, filler(seq, i))
	}
	return dst
}

func filler(seq uint64, i int) byte { return byte('a' + (seq+uint64(i))%26) }

// Message is a parsed message header.
type Message struct {
	ID    string
	Seq   uint64
	Sent  int64 // unix nanoseconds
	Bytes int   // total length
}

// Parse decodes a message made by Append and verifies its filler. It returns an error
// naming the defect when the message is malformed or its content altered.
func Parse(b []byte) (Message, error) {
	var m Message
	parts := bytes.SplitN(b, []byte{':'}, 4)
	if len(parts) != 4 {
		return m, fmt.Errorf("malformed message %.40q", b)
	}
	var err error
	m.ID = string(parts[0])
	if m.Seq, err = strconv.ParseUint(string(parts[1]), 10, 64); err != nil {
		return m, fmt.Errorf("malformed sequence number in %.40q", b)
	}
	if m.Sent, err = strconv.ParseInt(string(parts[2]), 10, 64); err != nil {
		return m, fmt.Errorf("malformed send time in %.40q", b)
	}
	m.Bytes = len(b)
	off := len(b) - len(parts[3])
	for i, c := range parts[3] {
		if c != filler(m.Seq, off+i) {
			return m, fmt.Errorf("corrupt content at byte %d of message %s:%d", off+i, m.ID, m.Seq)
		}
	}
	return m, nil
}

// Checker verifies one connection's stream of messages: each must parse, carry the
// expected id and the next sequence number (starting at 0), and have the expected size.
// It is not safe for concurrent use.
type Checker struct {
	ID   string
	Size int    // expected length; 0 = any
	Next uint64 // next expected sequence number = messages accepted so far
}

// Check verifies b and returns its header, or an error saying what was wrong: another
// connection's message, a gap or reordering (sequence number other than Next), a wrong
// size or corrupt content.
func (c *Checker) Check(b []byte) (Message, error) {
	m, err := Parse(b)
	if err != nil {
		return m, fmt.Errorf("connection %s: %w", c.ID, err)
	}
	if m.ID != c.ID {
		return m, fmt.Errorf("connection %s: received a message of %q", c.ID, m.ID)
	}
	if m.Seq != c.Next {
		return m, fmt.Errorf("connection %s: out of order or lost: got message %d, expected %d", c.ID, m.Seq, c.Next)
	}
	if c.Size > 0 && m.Bytes != c.Size {
		return m, fmt.Errorf("connection %s: message %d has %d bytes, expected %d", c.ID, m.Seq, m.Bytes, c.Size)
	}
	c.Next++
	return m, nil
}
