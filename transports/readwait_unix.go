//go:build unix

package transports

import "syscall"

const canPeek = true

// peekReady reports whether a read on fd would not block: a byte is there (peeked, not
// consumed), the peer closed, or the socket failed.
func peekReady(fd uintptr) bool {
	var b [1]byte
	for {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err == syscall.EINTR {
			continue // interrupted before it looked: look again (the poller may not wake us)
		}
		return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
	}
}
