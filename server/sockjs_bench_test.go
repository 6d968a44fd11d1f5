package server_test

// SockJS benchmarks, beside the native polysock WebSocket transport. Echo throughput:
//
//	go test -run='^$' -bench='SockJSEcho|NativeWebSocketEcho' -benchmem -benchtime=3s -count=4 ./server
//
// Memory per idle session: each benchmark alone, in a fresh process (later runs in one
// process reuse the goroutine stacks freed by earlier ones and would count less):
//
//	go test -run='^$' -bench='^BenchmarkSockJSIdleSessionMemoryXhrPolling$' -benchtime=1x -count=1 ./server
//
// Results are in docs/BENCHMARKS.md ("SockJS").

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/server"
)

// sjBenchPayload is the message every echo benchmark sends: 64 bytes of text.
var sjBenchPayload = strings.Repeat("x", 64)

func sjEchoHandler(s *server.Session) {
	ctx := s.Context()
	for {
		typ, data, err := s.Read(ctx)
		if err != nil {
			return
		}
		if s.Write(ctx, typ, data) != nil {
			return
		}
	}
}

// sjBenchServer serves srv's native endpoint at / and its SockJS endpoint at /sockjs.
func sjBenchServer(b *testing.B, opts *server.Options, so *server.SockJSOptions) (*server.Server, string) {
	b.Helper()
	srv := server.New(sjEchoHandler, opts)
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	mux.Handle("/sockjs/", srv.SockJSHandler("/sockjs", so))
	hs := httptest.NewServer(mux)
	b.Cleanup(func() {
		hs.CloseClientConnections()
		ctx, cancel := context.WithTimeout(context.Background(), sjGuard)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return srv, hs.URL
}

func sjBenchDial(b *testing.B, url string) *websocket.Conn {
	b.Helper()
	d := websocket.Dialer{HandshakeTimeout: sjGuard}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(url, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// sjWindow bounds the messages a benchmark client has sent but not yet received back.
// Without a bound, a flood outgrows the session's outbox and the server rightly closes
// the session with 4008 (peer too slow).
const sjWindow = 256

// reportRate reports messages per second (echoed round trips).
func reportRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// The echo benchmarks keep at most sjWindow messages in flight and report round trips
// per second (msgs/s) with 64-byte messages.

// BenchmarkSockJSEchoWebSocket: a sockjs-client-shaped WebSocket client sends b.N
// messages (one ["..."] WebSocket message each) while reading the echoes (a[...]).
func BenchmarkSockJSEchoWebSocket(b *testing.B) {
	_, url := sjBenchServer(b, nil, nil)
	c := sjBenchDial(b, url+"/sockjs/0/"+sjID()+"/websocket")
	defer c.Close()
	if _, m, err := c.ReadMessage(); err != nil || string(m) != "o" {
		b.Fatalf("open: %q %v", m, err)
	}
	msg := []byte(`["` + sjBenchPayload + `"]`)
	window := make(chan struct{}, sjWindow)
	b.SetBytes(int64(len(sjBenchPayload)))
	b.ResetTimer()
	start := time.Now()
	go func() {
		for range b.N {
			window <- struct{}{}
			if c.WriteMessage(websocket.TextMessage, msg) != nil {
				return
			}
		}
	}()
	for got := 0; got < b.N; {
		_, m, err := c.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		if m[0] == 'a' {
			n := strings.Count(string(m), ",") + 1
			got += n
			for range n {
				<-window
			}
		}
	}
	reportRate(b, start)
}

// BenchmarkSockJSEchoXhrStreaming: messages go out in xhr_send POSTs of 16 (sockjs-client
// sends what is queued in one POST, one POST at a time) and come back on xhr_streaming
// responses, reopened whenever the 128 KiB response limit ends one.
func BenchmarkSockJSEchoXhrStreaming(b *testing.B) {
	_, url := sjBenchServer(b, nil, nil)
	base := url + "/sockjs/0/" + sjID()
	client := &http.Client{Timeout: sjGuard}
	// http.Client.Timeout covers the whole body: a streaming response may outlive it under
	// load, so the stream only bounds the wait for its headers.
	streamClient := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: sjGuard}}
	b.Cleanup(streamClient.CloseIdleConnections)
	stream := func() *bufio.Reader {
		resp, err := streamClient.Post(base+"/xhr_streaming", "text/plain", nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { resp.Body.Close() })
		return bufio.NewReaderSize(resp.Body, 64<<10)
	}
	br := stream()
	const batch = 16
	body := "[" + strings.Repeat(`"`+sjBenchPayload+`",`, batch-1) + `"` + sjBenchPayload + `"]`
	window := make(chan struct{}, sjWindow)
	b.SetBytes(int64(len(sjBenchPayload)))
	b.ResetTimer()
	start := time.Now()
	go func() {
		for sent := 0; sent < b.N; sent += batch {
			for range min(batch, b.N-sent) {
				window <- struct{}{}
			}
			payload := body
			if n := b.N - sent; n < batch {
				payload = "[" + strings.Repeat(`"`+sjBenchPayload+`",`, n-1) + `"` + sjBenchPayload + `"]`
			}
			resp, err := client.Post(base+"/xhr_send", "text/plain", strings.NewReader(payload))
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	// Frames are lines; a frame can outgrow the buffer (what piled up while no
	// response was open goes out as one a[...]), so count messages by commas per chunk.
	inData, lineStart := false, true
	for got := 0; got < b.N; {
		chunk, err := br.ReadSlice('\n')
		if err == io.EOF {
			br, lineStart = stream(), true
			continue
		}
		if err != nil && err != bufio.ErrBufferFull {
			b.Fatal(err)
		}
		n := 0
		if lineStart {
			if inData = chunk[0] == 'a'; inData {
				n++
			}
		}
		if inData {
			n += bytes.Count(chunk, []byte{','})
		}
		got += n
		for range n {
			<-window
		}
		lineStart = err == nil
	}
	reportRate(b, start)
}

// BenchmarkNativeWebSocketEcho is the same echo on the native polysock WebSocket
// transport: a gorilla client speaking PROTOCOL.md binary batches (one TEXT frame per
// WebSocket message, an ACK every 64 messages received).
func BenchmarkNativeWebSocketEcho(b *testing.B) {
	_, url := sjBenchServer(b, nil, nil)
	c := sjBenchDial(b, url+"/?ps_v=1")
	defer c.Close()
	if _, m, err := c.ReadMessage(); err != nil || wire.DecodeBatch(m, func(f *wire.Frame) error {
		if f.Type != wire.TypeOpen {
			return io.ErrUnexpectedEOF
		}
		return nil
	}) != nil {
		b.Fatalf("open: %v", err)
	}
	var wmu sync.Mutex
	write := func(f *wire.Frame) error {
		wmu.Lock()
		defer wmu.Unlock()
		return c.WriteMessage(websocket.BinaryMessage, wire.AppendBinary(nil, f))
	}
	data := []byte(sjBenchPayload)
	window := make(chan struct{}, sjWindow)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	start := time.Now()
	go func() {
		for i := range b.N {
			window <- struct{}{}
			if write(&wire.Frame{Type: wire.TypeText, Seq: uint64(i + 1), Data: data}) != nil {
				return
			}
		}
	}()
	var got uint64
	for got < uint64(b.N) {
		_, m, err := c.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		before := got
		if err := wire.DecodeBatch(m, func(f *wire.Frame) error {
			if f.Type == wire.TypeText {
				got = f.Seq
				<-window
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if got/64 != before/64 || got == uint64(b.N) {
			if err := write(&wire.Frame{Type: wire.TypeAck, Seq: got}); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportRate(b, start)
}

// sjIdleSessions is how many idle sessions the memory benchmarks measure, after
// sjWarmup sessions opened before the baseline (so that one-time allocations do not count).
const (
	sjIdleSessions = 2000
	sjWarmup       = 200
)

// sjLiveBytes is the heap in use plus goroutine stacks, after a full collection.
func sjLiveBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// sjWaitSessions waits until srv has n live sessions.
func sjWaitSessions(b *testing.B, srv *server.Server, n int) {
	b.Helper()
	for deadline := time.Now().Add(time.Minute); srv.Stats().Sessions != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d sessions, want %d", srv.Stats().Sessions, n)
		}
	}
}

// BenchmarkSockJSIdleSessionMemoryXhrPolling measures the server's memory per idle SockJS
// session between two polls (no receiving request attached): the Session, its handler
// goroutine (blocked in Read), its reader goroutine and sockjs-go's session. No client
// state is in the process.
func BenchmarkSockJSIdleSessionMemoryXhrPolling(b *testing.B) {
	srv, url := sjBenchServer(b, nil, &server.SockJSOptions{DisconnectDelay: 10 * time.Minute})
	client := &http.Client{Timeout: sjGuard}
	open := func(n int) {
		for range n {
			resp, err := client.Post(url+"/sockjs/0/"+sjID()+"/xhr", "text/plain", nil)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	open(sjWarmup)
	sjWaitSessions(b, srv, sjWarmup)
	before, g0 := sjLiveBytes(), runtime.NumGoroutine()
	open(sjIdleSessions)
	sjWaitSessions(b, srv, sjWarmup+sjIdleSessions)
	after, g1 := sjLiveBytes(), runtime.NumGoroutine()
	b.ReportMetric(float64(g1-g0)/sjIdleSessions, "goroutines/session")
	b.ReportMetric(float64(after-before)/sjIdleSessions, "B/session")
}

// sjIdleWebSockets opens sjIdleSessions WebSocket sessions at path (built by next) and
// reports the memory per session, client connections included (both ends live in this
// process).
func sjIdleWebSockets(b *testing.B, srv *server.Server, next func() string, first string) {
	b.Helper()
	conns := make([]*websocket.Conn, 0, sjWarmup+sjIdleSessions)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	open := func(n int) {
		for range n {
			c := sjBenchDial(b, next())
			_ = c.SetReadDeadline(time.Now().Add(sjGuard))
			if _, m, err := c.ReadMessage(); err != nil || (first != "" && string(m) != first) {
				b.Fatalf("first message %q, %v", m, err)
			}
			conns = append(conns, c)
		}
	}
	open(sjWarmup)
	sjWaitSessions(b, srv, sjWarmup)
	before, g0 := sjLiveBytes(), runtime.NumGoroutine()
	open(sjIdleSessions)
	sjWaitSessions(b, srv, sjWarmup+sjIdleSessions)
	after, g1 := sjLiveBytes(), runtime.NumGoroutine()
	b.ReportMetric(float64(g1-g0)/sjIdleSessions, "goroutines/session")
	b.ReportMetric(float64(after-before)/sjIdleSessions, "B/session")
}

// BenchmarkSockJSIdleSessionMemoryWebSocket: idle SockJS WebSocket sessions, client
// connections included.
func BenchmarkSockJSIdleSessionMemoryWebSocket(b *testing.B) {
	srv, url := sjBenchServer(b, nil, nil)
	sjIdleWebSockets(b, srv, func() string { return url + "/sockjs/0/" + sjID() + "/websocket" }, "o")
}

// BenchmarkNativeIdleSessionMemoryWebSocket: idle native polysock WebSocket sessions,
// client connections included, for comparison.
func BenchmarkNativeIdleSessionMemoryWebSocket(b *testing.B) {
	srv, url := sjBenchServer(b, nil, nil)
	sjIdleWebSockets(b, srv, func() string { return url + "/?ps_v=1" }, "")
}
