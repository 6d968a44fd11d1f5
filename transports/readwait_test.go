package transports

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The shallow wait of an idle carrier never delays a message: one already in gorilla's
// buffer (two messages in one TCP segment), one split over several segments, one larger
// than the buffer, and the end of the connection are all read at once. A wait that
// missed data would block until the read deadline and fail the read.
func TestReadBatchWait(t *testing.T) {
	const guard = 10 * time.Second // the read deadline: a hang guard
	carriers := make(chan *WebSocket, 1)
	up := NewWebSocketUpgrader(guard)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, false, "", 1<<20, guard)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			return
		}
		carriers <- ws
	}))
	defer hs.Close()
	conn, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(guard))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	ws := <-carriers
	defer ws.Close()
	if canReadNow && ws.idle == nil {
		t.Fatal("the carrier does not wait on a shallow stack: the test would not test it")
	}
	mask := [4]byte{1, 2, 3, 4}
	read := func(want []byte) {
		t.Helper()
		got, _, err := ws.ReadBatch(guard)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ReadBatch = %d bytes, %v; want %d bytes", len(got), err, len(want))
		}
	}
	// Two messages in one write: the second is in gorilla's buffer after the first.
	one, two := []byte("first"), []byte("second")
	if _, err := conn.Write(append(clientFrame(0x82, one, mask), clientFrame(0x82, two, mask)...)); err != nil {
		t.Fatal(err)
	}
	read(one)
	read(two)
	// A message larger than the buffer, in three segments, the last sent while the
	// server waits.
	big := bytes.Repeat([]byte("0123456789"), 300)
	frame := clientFrame(0x82, big, mask)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, part := range [][]byte{frame[:100], frame[100:2000], frame[2000:]} {
			if _, err := conn.Write(part); err != nil {
				return
			}
			time.Sleep(5 * time.Millisecond) // separate segments; not an assertion
		}
	}()
	read(big)
	<-done
	// A message already in the socket before the read starts.
	if _, err := conn.Write(clientFrame(0x82, one, mask)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // let it arrive; not an assertion
	read(one)
	// The end of the connection ends the wait.
	conn.Close()
	if _, _, err := ws.ReadBatch(guard); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("ReadBatch after the peer left = %v, want a connection error", err)
	}
}
