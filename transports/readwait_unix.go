//go:build unix

package transports

import (
	"io"
	"os"
	"syscall"
)

const canReadNow = true

// readNow reads what fd holds into a pooled buffer without blocking, and reports whether
// the wait is over: bytes were read, the peer closed (io.EOF for the next Read) or the
// socket failed (the error for the next Read). It is the callback of RawConn.Read.
func (p *prefetcher) readNow(fd uintptr) bool {
	buf := prefetchPool.Get().(*[prefetchSize]byte)
	for {
		n, err := syscall.Read(int(fd), buf[:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			prefetchPool.Put(buf)
			return false
		case err != nil:
			prefetchPool.Put(buf)
			p.err = os.NewSyscallError("read", err)
			return true
		case n == 0:
			prefetchPool.Put(buf)
			p.err = io.EOF
			return true
		}
		p.buf, p.data = buf, buf[:n]
		return true
	}
}
