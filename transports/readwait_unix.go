//go:build unix

package transports

import "syscall"

const canPeek = true

// peekReady reports whether a read on fd would not block: a byte is there (peeked, not
// consumed), the peer closed, or the socket failed.
func peekReady(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR
}
