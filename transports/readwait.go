package transports

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"syscall"
)

// This file lets an idle WebSocket carrier wait for its next message on a shallow stack.
// A reader goroutine parked deep in gorilla's ReadMessage keeps a 4 KiB stack; parked in
// waitReadable, a few frames from its start, the runtime shrinks it to 2 KiB at the next
// garbage collection (docs/BENCHMARKS.md, "Capacity and memory (issue 9)"). The wait is
// only taken when gorilla holds no buffered bytes, and it reads the socket itself (a
// non-blocking read into a pooled buffer, handed on to gorilla's reader), so a message
// that has already arrived is never waited for and costs no extra system call.

// prefetchSize is the size of the pooled buffers the shallow wait reads into: a message
// that does not fit is read on by gorilla from the socket.
const prefetchSize = 4 << 10

var prefetchPool = sync.Pool{New: func() any { return new([prefetchSize]byte) }}

// prefetcher is the reader under gorilla's bufio.Reader: it hands on the bytes the wait
// read, then reads the connection.
type prefetcher struct {
	net.Conn
	buf  *[prefetchSize]byte // from prefetchPool while it holds bytes
	data []byte              // bytes of buf not handed on yet
	err  error               // how the wait's read ended, for the next Read (EOF, failure)
}

func (p *prefetcher) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		if err := p.err; err != nil {
			p.err = nil
			return 0, err
		}
		return p.Conn.Read(b)
	}
	n := copy(b, p.data)
	p.data = p.data[n:]
	if len(p.data) == 0 {
		prefetchPool.Put(p.buf)
		p.buf, p.data = nil, nil
	}
	return n, nil
}

// ownReader is the ResponseWriter given to gorilla's Upgrade: its Hijack hands gorilla a
// fresh reader of readBufferSize bytes (gorilla reuses a hijacked reader of more than 256
// bytes) and, as the connection, a prefetcher over it (gorilla resets the reader onto
// the connection it is given), so that the carrier can see how many bytes the reader
// holds and fill it. A hijacked reader that already holds bytes is passed on as it is
// (gorilla refuses the upgrade).
type ownReader struct {
	http.ResponseWriter
	conn net.Conn // the hijacked connection itself
	br   *bufio.Reader
	pre  *prefetcher
}

func (o *ownReader) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(o.ResponseWriter).Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		return conn, brw, err
	}
	o.conn, o.pre = conn, &prefetcher{Conn: conn}
	o.br = bufio.NewReaderSize(o.pre, readBufferSize)
	return o.pre, bufio.NewReadWriter(o.br, brw.Writer), nil
}

// readWaiter waits until a socket has something to read, reading it into pre.
type readWaiter struct {
	rc  syscall.RawConn
	br  *bufio.Reader
	pre *prefetcher
}

// newReadWaiter returns a waiter for the connection own hijacked, or nil when the wait
// cannot see every byte that is there to read: the wait is taken only on a bare socket
// (*net.TCPConn, *net.UnixConn). A TLS connection, or a listener's wrapper that may read
// ahead of its user (a PROXY protocol parser, say) even when it exposes its socket, is
// read directly.
func newReadWaiter(own *ownReader) *readWaiter {
	var sc syscall.Conn
	switch c := own.conn.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	}
	if sc == nil || own.br == nil || !canReadNow {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &readWaiter{rc: rc, br: own.br, pre: own.pre}
}

// wait returns nil when bytes were read, the socket is at its end or failed (the read
// that follows reports how), at once when gorilla's reader or the prefetcher holds
// bytes; or the error of the wait: the read deadline passed, or the connection was
// closed.
func (w *readWaiter) wait() error {
	if w == nil || w.br.Buffered() > 0 || len(w.pre.data) > 0 || w.pre.err != nil {
		return nil
	}
	return w.rc.Read(w.pre.readNow)
}
