package framers

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/server"
)

// TestPolysockLeanAcks shows that the lean framer acknowledges what it receives, against
// a real server: the handler writes 1,000 messages of 1 KiB but lets at most 96 KiB stay
// unacknowledged in its outbox (the 64-message ACKs keep it going, the delayed ACK covers
// the rest), so without ACKs it would stall and the hang guard would fail the test; then
// it writes 3 more and waits until the client acknowledged them too, which only the
// delayed ACK does. The client checks every message's order and content.
func TestPolysockLeanAcks(t *testing.T) {
	const total, size, window = 1000, 1024, 96 << 10
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // hang guard
	defer cancel()
	msg := func(i int) []byte {
		b := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		return fmt.Appendf(b[:0], "%06d", i)[:size]
	}
	handlerErr := make(chan error, 1)
	srv := server.New(func(s *server.Session) {
		handlerErr <- func() error {
			wait := func(limit int64) error {
				for s.Buffered() > limit {
					select {
					case <-s.Context().Done():
						return s.Context().Err()
					case <-time.After(time.Millisecond):
					}
				}
				return nil
			}
			for i := range total + 3 {
				if i == total {
					if err := wait(0); err != nil { // 64-message ACKs (and the last delayed one)
						return fmt.Errorf("waiting for ACKs of %d messages: %w", total, err)
					}
				}
				if err := wait(window - size); err != nil {
					return fmt.Errorf("waiting for room for message %d: %w", i, err)
				}
				if err := s.Write(ctx, polysock.Text, msg(i)); err != nil {
					return err
				}
			}
			if err := wait(0); err != nil { // 3 messages: only the delayed ACK covers them
				return fmt.Errorf("waiting for the delayed ACK: %w", err)
			}
			return nil
		}()
		_, _, _ = s.Read(ctx) // until the client closes
	}, nil)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c, err := PolysockLean{}.Dial(ctx, ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	for i := range total + 3 {
		b, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(b, msg(i)) {
			t.Fatalf("message %d: got %.20q…, want %.20q…", i, b, msg(i))
		}
	}
	select {
	case err := <-handlerErr:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("the server's outbox was never acknowledged")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
