package transports

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// A refused connection is a dead node; a dial that timed out, or any other error, is not.
func TestIsRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	_, refused := (&net.Dialer{}).DialContext(context.Background(), "tcp", addr)
	if refused == nil {
		t.Fatal("a dial to a closed port succeeded")
	}
	timeout := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ETIMEDOUT)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	_, cancelled := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused", refused, true},
		{"timed out", timeout, false},
		{"deadline", cancelled, false},
		{"read", &net.OpError{Op: "read", Err: syscall.ECONNREFUSED}, false},
		{"other", errors.New("no"), false},
	} {
		if got := IsRefused(c.err); got != c.want {
			t.Errorf("%s: IsRefused(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}
