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
	conn, ws := dialCarrier(t, httptest.NewUnstartedServer(nil))
	if canReadNow && ws.idle == nil {
		t.Fatal("the carrier does not wait on a shallow stack: the test would not test it")
	}
	mask := [4]byte{1, 2, 3, 4}
	read := func(want []byte) {
		t.Helper()
		got, _, err := ws.ReadBatch(readGuard)
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
	if _, _, err := ws.ReadBatch(readGuard); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("ReadBatch after the peer left = %v, want a connection error", err)
	}
}

// readGuard is the read deadline of the wait tests: a hang guard.
const readGuard = 10 * time.Second

// dialCarrier starts hs with a handler that upgrades to a polysock WebSocket carrier,
// opens a raw client connection to it and returns both; the test's cleanup closes them.
func dialCarrier(t *testing.T, hs *httptest.Server) (net.Conn, *WebSocket) {
	t.Helper()
	carriers := make(chan *WebSocket, 1)
	up := NewWebSocketUpgrader(readGuard)
	hs.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, false, "", 1<<20, readGuard)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			return
		}
		carriers <- ws
	})
	hs.Start()
	t.Cleanup(hs.Close)
	conn, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(readGuard))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	ws := <-carriers
	t.Cleanup(func() { ws.Close() })
	return conn, ws
}

// readAheadConn is a connection of a listener that reads ahead of its user (as one that
// parses a PROXY protocol header does): bytes can wait in it while the socket is empty.
// It still exposes the socket (SyscallConn, through the embedded *net.TCPConn).
type readAheadConn struct {
	*net.TCPConn
	br *bufio.Reader
}

func (c *readAheadConn) Read(p []byte) (int, error) { return c.br.Read(p) }

type readAheadListener struct{ net.Listener }

func (l readAheadListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &readAheadConn{TCPConn: c.(*net.TCPConn), br: bufio.NewReaderSize(c, 64<<10)}, nil
}

// A connection that is not a bare socket may hold bytes the socket no longer has: the
// carrier reads it directly rather than wait on the socket. Here the first message fills
// gorilla's buffer exactly and the second waits in the listener's read-ahead; a wait on
// the socket would miss it until the read deadline.
func TestReadBatchWaitWrappedConn(t *testing.T) {
	hs := httptest.NewUnstartedServer(nil)
	hs.Listener = readAheadListener{hs.Listener}
	conn, ws := dialCarrier(t, hs)
	mask := [4]byte{1, 2, 3, 4}
	one, two := bytes.Repeat([]byte("a"), readBufferSize-8), []byte("second") // 8 header bytes
	first := clientFrame(0x82, one, mask)
	if len(first) != readBufferSize {
		t.Fatalf("first frame is %d bytes, want %d", len(first), readBufferSize)
	}
	if _, err := conn.Write(append(first, clientFrame(0x82, two, mask)...)); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]byte{one, two} {
		got, _, err := ws.ReadBatch(readGuard)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ReadBatch = %d bytes, %v; want %d bytes", len(got), err, len(want))
		}
	}
}
