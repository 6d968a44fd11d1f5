package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// Benchmarks of the HTTP transports, on loopback. Each reports a rate metric besides
// ns/op; the figures are compared with their references (WebSocket push, a hello-world
// net/http handler) run by the same command.

// pushHandler writes n messages of size bytes as fast as the client acknowledges them:
// it keeps at most window bytes unacknowledged, waiting on acked (signalled by the
// client after each ACK it sends) when the window is full. An ACK sent over a WebSocket
// may be processed after the signal, so the wait also ends after a millisecond.
func pushHandler(n, size int, window int64, acked <-chan struct{}) func(*htEnv, *Session) {
	return func(e *htEnv, s *Session) {
		msg := bytes.Repeat([]byte("x"), size)
		for range n {
			for s.Buffered() > window {
				select {
				case <-acked:
				case <-time.After(time.Millisecond):
				case <-s.Context().Done():
					return
				}
			}
			if err := s.Write(context.Background(), polysock.Binary, msg); err != nil {
				return
			}
		}
		<-s.Context().Done()
	}
}

const (
	pushSize   = 64
	pushWindow = 1 << 20
	pushAckGap = 1024 // messages between the client's ACKs
)

// BenchmarkStreamPush measures server→client messages per second over a binary stream,
// response recycling (default 128 KiB) and the client's ACK POSTs included, with a
// client that decodes in place like BenchmarkWebSocketPush's.
func BenchmarkStreamPush(b *testing.B) {
	acked := make(chan struct{}, 1)
	e := newHTEnv(b, pushHandler(b.N, pushSize, pushWindow, acked), nil)
	c := e.newHTClient(false, transports.EncodingBinary)
	c.stop()
	streamURL := e.hs.URL + "/rt?" + query("ps_v", "1", "ps_t", "stream", "ps_sid", c.sid, "ps_tok", c.tok) + "&ps_ack="
	postURL := e.hs.URL + "/rt?" + c.postQuery()
	buf := make([]byte, 0, 256<<10)
	var recv uint64
	responses := 0
	b.SetBytes(pushSize)
	b.ResetTimer()
	for recv < uint64(b.N) {
		resp, err := e.hc.Get(streamURL + strconv.FormatUint(recv, 10))
		if err != nil {
			b.Fatal(err)
		}
		responses++
		buf = buf[:0]
		for recv < uint64(b.N) {
			if len(buf) == cap(buf) {
				b.Fatalf("frame larger than %d bytes", cap(buf))
			}
			n, err := resp.Body.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				break // recycled: reopen with the ack
			}
			if err != nil {
				b.Fatal(err)
			}
			before := recv
			rest := buf
			for {
				f, n, err := wire.DecodeBinary(rest)
				if errors.Is(err, wire.ErrTruncated) {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				if f.Type.IsData() && f.Seq == recv+1 {
					recv = f.Seq
				}
				rest = rest[n:]
			}
			buf = buf[:copy(buf, rest)]
			if recv/pushAckGap != before/pushAckGap {
				ack := wire.AppendBinary(nil, &wire.Frame{Type: wire.TypeAck, Seq: recv})
				r, err := e.hc.Post(postURL, wire.ContentTypeBinary, bytes.NewReader(ack))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
				signalBench(acked)
			}
		}
		resp.Body.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(responses), "responses")
}

// BenchmarkWebSocketPush is the reference for BenchmarkStreamPush: the same session
// traffic over a polysock WebSocket carrier.
func BenchmarkWebSocketPush(b *testing.B) {
	acked := make(chan struct{}, 1)
	e := newHTEnv(b, pushHandler(b.N, pushSize, pushWindow, acked), nil)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.hs.URL, "http")+"/rt?ps_v=1", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	b.SetBytes(pushSize)
	b.ResetTimer()
	var recv uint64
	for recv < uint64(b.N) {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		before := recv
		if err := wire.DecodeBatch(msg, func(f *wire.Frame) error {
			if f.Type.IsData() {
				recv = f.Seq
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if recv/pushAckGap != before/pushAckGap {
			if err := ws.WriteMessage(websocket.BinaryMessage, wire.AppendBinary(nil, &wire.Frame{Type: wire.TypeAck, Seq: recv})); err != nil {
				b.Fatal(err)
			}
			signalBench(acked)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func signalBench(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// BenchmarkStreamSend compares batched pushes (8 frames per Send: one Write, one Flush)
// with one Send per frame, on a transports.Stream over loopback. Each op is 8 frames of
// 64 bytes.
func BenchmarkStreamSend(b *testing.B) {
	for _, perSend := range []int{8, 1} {
		b.Run(fmt.Sprintf("frames-per-write=%d", perSend), func(b *testing.B) {
			carriers := make(chan *transports.Stream, 1)
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				st := transports.NewStream(w, transports.EncodingBinary, 1<<62, 10*time.Second)
				carriers <- st
				select {
				case <-st.Done():
				case <-r.Context().Done():
					st.End()
				}
			}))
			defer hs.Close()
			// The response's headers go out with the first batch: read it concurrently.
			read := make(chan error, 1)
			go func() {
				resp, err := http.Get(hs.URL)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				read <- err
			}()
			st := <-carriers
			frames := make([]wire.Frame, 8)
			for i := range frames {
				frames[i] = wire.Frame{Type: wire.TypeBinary, Seq: uint64(i + 1), Data: bytes.Repeat([]byte("x"), 64)}
			}
			b.SetBytes(8 * 64)
			b.ResetTimer()
			for range b.N {
				for i := 0; i < len(frames); i += perSend {
					if err := st.Send(frames[i : i+perSend]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(8*b.N)/b.Elapsed().Seconds(), "frames/s")
			st.End()
			if err := <-read; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkPollPush measures long-poll round trips: the server pushes a message to the
// session, the client's poll takes it and the client polls again with its ack. One
// request per op, with a client as lean as BenchmarkHelloWorld's.
func BenchmarkPollPush(b *testing.B) {
	next := make(chan struct{}, 1)
	e := newHTEnv(b, func(e *htEnv, s *Session) {
		for {
			select {
			case <-next:
			case <-s.Context().Done():
				return
			}
			if err := s.Write(context.Background(), polysock.Binary, []byte("push")); err != nil {
				return
			}
		}
	}, &Options{PingInterval: time.Hour})
	c := e.newHTClient(true, transports.EncodingBinary)
	pollURL := e.hs.URL + "/rt?" + query("ps_v", "1", "ps_t", "poll", "ps_sid", c.sid, "ps_tok", c.tok) + "&ps_ack="
	var recv uint64
	b.ResetTimer()
	for range b.N {
		next <- struct{}{}
		want := recv + 1
		for recv < want {
			resp, err := e.hc.Get(pollURL + strconv.FormatUint(recv, 10))
			if err != nil {
				b.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("poll: %d %v", resp.StatusCode, err)
			}
			if err := wire.DecodeBatch(body, func(f *wire.Frame) error {
				if f.Type.IsData() {
					recv = f.Seq
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
}

// BenchmarkPollEcho measures echo round trips over poll from parallel clients, each with
// its own session: a POST of one message, then a poll that returns its echo. Two requests
// per op.
func BenchmarkPollEcho(b *testing.B) {
	e := newHTEnv(b, nil, &Options{PingInterval: time.Hour})
	var failed atomic.Bool
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		if err := pollEchoLoop(e, pb); err != nil && !failed.Swap(true) {
			b.Error(err)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "requests/s")
}

// pollEchoLoop is one client of BenchmarkPollEcho. It does not fail the benchmark itself
// (it runs on a goroutine of RunParallel); it returns the error.
func pollEchoLoop(e *htEnv, pb *testing.PB) error {
	get := func(q string) ([]byte, error) {
		resp, err := e.hc.Get(e.hs.URL + "/rt?" + q)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET: %d %q", resp.StatusCode, body)
		}
		return body, err
	}
	body, err := get("ps_v=1&ps_t=poll")
	if err != nil {
		return err
	}
	var o wire.Open
	if err := wire.DecodeBatch(body, func(f *wire.Frame) error {
		if f.Type == wire.TypeOpen {
			o, err = wire.DecodeOpen(f.Data)
		}
		return err
	}); err != nil {
		return err
	}
	postURL := e.hs.URL + "/rt?" + query("ps_v", "1", "ps_sid", o.Session, "ps_tok", o.Token)
	pollQuery := query("ps_v", "1", "ps_t", "poll", "ps_sid", o.Session, "ps_tok", o.Token)
	var seq, recv uint64
	for pb.Next() {
		seq++
		msg := wire.AppendBinary(nil, &wire.Frame{Type: wire.TypeBinary, Seq: seq, Data: []byte("echo")})
		resp, err := e.hc.Post(postURL, wire.ContentTypeBinary, bytes.NewReader(msg))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("POST: %d", resp.StatusCode)
		}
		for recv < seq {
			body, err := get(pollQuery + "&ps_ack=" + strconv.FormatUint(recv, 10))
			if err != nil {
				return err
			}
			if err := wire.DecodeBatch(body, func(f *wire.Frame) error {
				if f.Type.IsData() && f.Seq > recv {
					recv = f.Seq
				}
				if f.Type == wire.TypeClose {
					return errors.New("session closed")
				}
				return nil
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// BenchmarkHelloWorld is the reference for the poll benchmarks: a hello-world net/http
// handler and the same client, one request per op, sequential and parallel.
func BenchmarkHelloWorld(b *testing.B) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello, world\n"))
	}))
	defer hs.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	get := func() error {
		resp, err := hc.Get(hs.URL)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	b.Run("sequential", func(b *testing.B) {
		for range b.N {
			if err := get(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
	})
	b.Run("parallel", func(b *testing.B) {
		var failed atomic.Bool
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := get(); err != nil && !failed.Swap(true) {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
	})
}
