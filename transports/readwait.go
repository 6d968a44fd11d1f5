package transports

import (
	"bufio"
	"net"
	"net/http"
	"syscall"
)

// This file lets an idle WebSocket carrier wait for its next message on a shallow stack.
// A reader goroutine parked deep in gorilla's ReadMessage keeps a 4 KiB stack; parked in
// waitReadable, a few frames from its start, the runtime shrinks it to 2 KiB at the next
// garbage collection (docs/BENCHMARKS.md, "Capacity and memory (issue 9)"). The wait is
// only taken when gorilla holds no buffered bytes, and it checks the socket itself (a
// non-consuming peek), so a message that has already arrived is never waited for.

// ownReader is the ResponseWriter given to gorilla's Upgrade: its Hijack hands gorilla a
// fresh reader of readBufferSize bytes (gorilla reuses a hijacked reader of more than 256
// bytes), so that the carrier can see how many bytes the reader holds. A hijacked reader
// that already holds bytes is passed on as it is (gorilla refuses the upgrade).
type ownReader struct {
	http.ResponseWriter
	br *bufio.Reader
}

func (o *ownReader) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(o.ResponseWriter).Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		return conn, brw, err
	}
	o.br = bufio.NewReaderSize(conn, readBufferSize)
	return conn, bufio.NewReadWriter(o.br, brw.Writer), nil
}

// readWaiter waits until a socket has something to read, without reading it.
type readWaiter struct {
	rc syscall.RawConn
	br *bufio.Reader
}

// newReadWaiter returns a waiter for conn, or nil when the wait cannot see every byte
// that is there to read: the wait is taken only on a bare socket (*net.TCPConn,
// *net.UnixConn). A TLS connection, or a listener's wrapper that may read ahead of its
// user (a PROXY protocol parser, say) even when it exposes its socket, is read directly.
func newReadWaiter(conn net.Conn, br *bufio.Reader) *readWaiter {
	var sc syscall.Conn
	switch c := conn.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	}
	if sc == nil || br == nil || !canPeek {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &readWaiter{rc: rc, br: br}
}

// wait returns nil when the socket has bytes to read, is at its end or failed (the read
// that follows reports how), at once when gorilla's reader holds bytes; or the error of
// the wait: the read deadline passed, or the connection was closed.
func (w *readWaiter) wait() error {
	if w == nil || w.br.Buffered() > 0 {
		return nil
	}
	return w.rc.Read(func(fd uintptr) bool { return peekReady(fd) })
}
