package client

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
)

// Tests against a scripted server: the protocol rules of PROTOCOL.md sections 4–9 as the
// client applies them, including answers to a server that breaks them.

func TestProtocolErrorsCloseTheSession(t *testing.T) {
	badUTF8 := []byte{byte(wire.TypeText), 3, 1, 0xff, 0xfe}
	cases := []struct {
		name string
		send func(p *peer) error
		code uint16
	}{
		{"gap", func(p *peer) error {
			return p.send(wire.Frame{Type: wire.TypeText, Seq: 1, Data: []byte("a")}, wire.Frame{Type: wire.TypeText, Seq: 3, Data: []byte("c")})
		}, 1002},
		{"ack above sent", func(p *peer) error { return p.send(wire.Frame{Type: wire.TypeAck, Seq: 1}) }, 1002},
		{"invalid UTF-8", func(p *peer) error { return p.ws.WriteMessage(websocket.BinaryMessage, badUTF8) }, 1007},
		{"too big", func(p *peer) error {
			return p.send(wire.Frame{Type: wire.TypeBinary, Seq: 1, Data: make([]byte, 1001)})
		}, 1009},
		{"text message", func(p *peer) error { return p.ws.WriteMessage(websocket.TextMessage, []byte("t1:\"x\"")) }, 1003},
		{"second OPEN", func(p *peer) error { o := testOpen(); return p.send(o.Frame()) }, 1002},
		{"malformed", func(p *peer) error { return p.ws.WriteMessage(websocket.BinaryMessage, []byte{0x42, 0}) }, 1002},
		{"truncated", func(p *peer) error {
			return p.ws.WriteMessage(websocket.BinaryMessage, []byte{byte(wire.TypeBinary), 5, 1})
		}, 1002},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url := scripted(t, func(p *peer) error {
				if err := p.open(nil); err != nil {
					return err
				}
				if err := c.send(p); err != nil {
					return err
				}
				return p.expectClose(c.code)
			})
			conn := dial(t, url, &Options{MaxMessageSize: 1000})
			ce := readEnd(t, conn)
			if ce.Code != int(c.code) || ce.WasClean {
				t.Errorf("session ended with %+v, want code %d, not clean", ce, c.code)
			}
			<-conn.Context().Done()
			if err := conn.Close(1000, ""); closeOf(err) == nil || closeOf(err).Code != int(c.code) {
				t.Errorf("Close after the end = %v, want the CloseError %d", err, c.code)
			}
		})
	}
}

func TestDuplicatesDroppedAndServerClose(t *testing.T) {
	answer := make(chan wire.Frame, 1)
	url := scripted(t, func(p *peer) error {
		if err := p.open(nil); err != nil {
			return err
		}
		m1 := wire.Frame{Type: wire.TypeText, Seq: 1, Data: []byte("one")}
		m2 := wire.Frame{Type: wire.TypeBinary, Seq: 2, Data: []byte{2}}
		if err := p.send(m1, m1); err != nil {
			return err
		}
		if err := p.send(m1, m2, m2, wire.Frame{Type: wire.TypeClose, Code: 4321, Data: []byte("server bye")}); err != nil {
			return err
		}
		f, err := p.readUntil(wire.TypeClose)
		answer <- f
		return err
	})
	c := dial(t, url, nil)
	if typ, s := readMsg(t, c); typ != polysock.Text || s != "one" {
		t.Fatalf("first message %v %q", typ, s)
	}
	if typ, s := readMsg(t, c); typ != polysock.Binary || s != "\x02" {
		t.Fatalf("second message %v %q", typ, s)
	}
	ce := readEnd(t, c)
	if *ce != (polysock.CloseError{Code: 4321, Reason: "server bye", WasClean: true}) {
		t.Fatalf("end = %+v, want clean 4321 server bye", ce)
	}
	if f := <-answer; f.Code != 4321 {
		t.Errorf("answer CLOSE code %d, want 4321", f.Code)
	}
	if err := c.Write(context.Background(), polysock.Text, []byte("late")); closeOf(err) == nil || closeOf(err).Code != 4321 {
		t.Errorf("Write after the end = %v, want the CloseError", err)
	}
	if err := c.Close(1000, ""); err != nil {
		t.Errorf("Close after a clean close by the server = %v, want nil", err)
	}
}

func TestPingAndIdleAck(t *testing.T) {
	url := scripted(t, func(p *peer) error {
		if err := p.open(nil); err != nil {
			return err
		}
		if err := p.send(wire.Frame{Type: wire.TypePing, Data: []byte("xyz")}); err != nil {
			return err
		}
		f, err := p.readUntil(wire.TypePong)
		if err != nil {
			return err
		}
		if string(f.Data) != "xyz" {
			return errors.New("PONG payload " + string(f.Data))
		}
		// Three messages and no traffic from the client: an ACK still comes (within 100 ms).
		for i := uint64(1); i <= 3; i++ {
			if err := p.send(wire.Frame{Type: wire.TypeText, Seq: i, Data: []byte("m")}); err != nil {
				return err
			}
		}
		for {
			f, err := p.readUntil(wire.TypeAck)
			if err != nil {
				return err
			}
			if f.Seq == 3 {
				break
			}
		}
		if err := p.send(wire.Frame{Type: wire.TypeClose, Code: 1000}); err != nil {
			return err
		}
		return p.expectClose(1000)
	})
	c := dial(t, url, nil)
	for range 3 {
		readMsg(t, c)
	}
	if ce := readEnd(t, c); ce.Code != 1000 || !ce.WasClean {
		t.Errorf("end = %+v", ce)
	}
}

func TestBatchesStayWithinMaxBody(t *testing.T) {
	const maxBody, n, size = 1000, 200, 95
	url := scripted(t, func(p *peer) error {
		if err := p.open(func(o *wire.Open) { o.MaxBody = maxBody }); err != nil {
			return err
		}
		next := uint64(1)
		for closed := false; !closed; {
			typ, b, err := p.ws.ReadMessage()
			if err != nil {
				return err
			}
			if typ != websocket.BinaryMessage || len(b) > maxBody {
				return errors.New("batch is not binary or above maxBody")
			}
			err = wire.DecodeBatch(b, func(f *wire.Frame) error {
				switch f.Type {
				case wire.TypeClose:
					closed = true
				case wire.TypeBinary:
					if closed || f.Seq != next || len(f.Data) != size || f.Data[0] != byte(next) {
						return errors.New("message out of order, damaged or after CLOSE")
					}
					next++
				}
				return nil
			})
			if err != nil {
				return err
			}
			if err := p.send(wire.Frame{Type: wire.TypeAck, Seq: next - 1}); err != nil {
				return err
			}
		}
		if next != n+1 {
			return errors.New("messages missing")
		}
		return p.send(wire.Frame{Type: wire.TypeClose, Code: 1000})
	})
	c := dial(t, url, nil)
	for i := 1; i <= n; i++ {
		b := make([]byte, size)
		b[0] = byte(i)
		if err := c.Write(testCtx(t), polysock.Binary, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(1000, ""); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func TestWriteLimits(t *testing.T) {
	got := make(chan string, 1)
	url := scripted(t, func(p *peer) error {
		if err := p.open(func(o *wire.Open) { o.MaxMessage = 100 }); err != nil {
			return err
		}
		f, err := p.readUntil(wire.TypeText)
		got <- string(f.Data)
		if err != nil {
			return err
		}
		if err := p.send(wire.Frame{Type: wire.TypeClose, Code: 1000}); err != nil {
			return err
		}
		return p.expectClose(1000)
	})
	c := dial(t, url, nil)
	ctx := testCtx(t)
	if err := c.Write(ctx, polysock.Binary, make([]byte, 101)); !errors.Is(err, ErrMessageTooBig) {
		t.Errorf("Write above maxMessage = %v, want ErrMessageTooBig", err)
	}
	if err := c.Write(ctx, polysock.Text, []byte{0xff}); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("Write of invalid text = %v", err)
	}
	if err := c.Write(ctx, polysock.MessageType(7), nil); err == nil {
		t.Error("Write of an invalid type succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Write(cancelled, polysock.Text, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a done ctx = %v", err)
	}
	if err := c.Write(ctx, polysock.Text, []byte(strings.Repeat("é", 50))); err != nil {
		t.Fatalf("Write of exactly maxMessage: %v", err)
	}
	if s := <-got; s != strings.Repeat("é", 50) {
		t.Errorf("server got %q", s)
	}
	if ce := readEnd(t, c); ce.Code != 1000 || !ce.WasClean {
		t.Errorf("end = %+v", ce)
	}
}

func TestReplayBufferBound(t *testing.T) {
	ackNow := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(ackNow) }) }
	url := scripted(t, func(p *peer) error {
		if err := p.open(nil); err != nil {
			return err
		}
		for seen := 0; seen < 3; {
			fs, err := p.read()
			if err != nil {
				return err
			}
			for _, f := range fs {
				if f.Type == wire.TypeBinary {
					seen++
				}
			}
		}
		<-ackNow
		if err := p.send(wire.Frame{Type: wire.TypeAck, Seq: 3}); err != nil {
			return err
		}
		if _, err := p.readUntil(wire.TypeBinary); err != nil {
			return err
		}
		return p.answerClose(3000)
	})
	c := dial(t, url, &Options{ReplayBuffer: 3 * msgCost(100)})
	t.Cleanup(release) // runs first: the Close and the script's cleanup wait for the script
	ctx := testCtx(t)
	for range 3 {
		if err := c.Write(ctx, polysock.Binary, make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Write(ctx, polysock.Binary, make([]byte, 400)); !errors.Is(err, ErrBufferFull) {
		t.Fatalf("Write of a message larger than the replay buffer = %v, want ErrBufferFull", err)
	}
	// Full: Write waits for an ACK, here in vain.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c.Write(short, polysock.Binary, make([]byte, 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write into a full replay buffer = %v, want DeadlineExceeded", err)
	}
	release()
	if err := c.Write(ctx, polysock.Binary, make([]byte, 100)); err != nil {
		t.Fatalf("Write after the ACK: %v", err)
	}
	if err := c.Close(3000, ""); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func TestClientCloseHandshake(t *testing.T) {
	url := scripted(t, func(p *peer) error {
		if err := p.open(nil); err != nil {
			return err
		}
		f, err := p.readUntil(wire.TypeClose)
		if err != nil {
			return err
		}
		if f.Code != 4500 || string(f.Data) != "done" {
			return errors.New("unexpected CLOSE " + string(f.Data))
		}
		// A message sent before the answer is still acknowledged.
		if err := p.send(wire.Frame{Type: wire.TypeText, Seq: 1, Data: []byte("late")}, f); err != nil {
			return err
		}
		return nil
	})
	c := dial(t, url, nil)
	if err := c.Close(4500, "done"); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	if _, s := readMsg(t, c); s != "late" {
		t.Errorf("message before the answer = %q", s)
	}
	if ce := readEnd(t, c); *ce != (polysock.CloseError{Code: 4500, Reason: "done", WasClean: true}) {
		t.Errorf("end = %+v", ce)
	}
	if err := c.Write(context.Background(), polysock.Text, nil); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func TestCloseWithoutAnswerTimesOut(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 5 s close timeout")
	}
	url := scripted(t, func(p *peer) error {
		if err := p.open(nil); err != nil {
			return err
		}
		p.wsCloseCode()
		return nil
	})
	c := dial(t, url, nil)
	err := c.Close(1000, "")
	if ce := closeOf(err); ce == nil || ce.Code != 1006 || ce.WasClean {
		t.Fatalf("Close = %v, want a 1006 CloseError", err)
	}
}

func TestCloseValidation(t *testing.T) {
	got := make(chan string, 1)
	url := scripted(t, func(p *peer) error {
		if err := p.open(nil); err != nil {
			return err
		}
		f, err := p.readUntil(wire.TypeText)
		got <- string(f.Data)
		if err != nil {
			return err
		}
		f, err = p.readUntil(wire.TypeClose)
		if err != nil {
			return err
		}
		return p.send(f)
	})
	c := dial(t, url, nil)
	for _, code := range []int{-1, 0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 4000, 4004, 4099, 5000, 66536} {
		if err := c.Close(code, ""); err == nil || !strings.Contains(err.Error(), "invalid close code") {
			t.Errorf("Close(%d) = %v, want an invalid code error", code, err)
		}
	}
	if err := c.Close(1000, strings.Repeat("a", 124)); err == nil {
		t.Error("Close with a reason of 124 bytes succeeded")
	}
	if err := c.Close(1000, "\xff"); err == nil {
		t.Error("Close with an invalid UTF-8 reason succeeded")
	}
	if err := c.Write(testCtx(t), polysock.Text, []byte("still open")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "still open" {
		t.Fatalf("got %q", s)
	}
	if err := c.Close(4100, strings.Repeat("é", 61)); err != nil {
		t.Fatalf("Close(4100, 122 bytes) = %v", err)
	}
}

func TestCarrierLoss(t *testing.T) {
	t.Run("TCP", func(t *testing.T) {
		url := scripted(t, func(p *peer) error {
			if err := p.open(nil); err != nil {
				return err
			}
			return p.ws.NetConn().Close()
		})
		c := dial(t, url, &Options{ReconnectAttempts: -1})
		if ce := readEnd(t, c); ce.Code != 1006 || ce.WasClean {
			t.Errorf("end = %+v, want 1006", ce)
		}
		if err := c.Write(context.Background(), polysock.Text, nil); closeOf(err) == nil {
			t.Errorf("Write after the end = %v", err)
		}
	})
	t.Run("TCP, resume refused", func(t *testing.T) {
		// The scripted server answers the resuming upgrade with 4004: the session ends
		// with it, never silently.
		url := scripted(t, func(p *peer) error {
			if err := p.open(nil); err != nil {
				return err
			}
			return p.ws.NetConn().Close()
		})
		c := dial(t, url, nil)
		if ce := readEnd(t, c); ce.Code != polysock.CloseUnknownSession || ce.WasClean {
			t.Errorf("end = %+v, want 4004", ce)
		}
	})
	t.Run("WebSocket close", func(t *testing.T) {
		url := scripted(t, func(p *peer) error {
			if err := p.open(nil); err != nil {
				return err
			}
			msg := websocket.FormatCloseMessage(1012, "restart")
			p.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			p.wsCloseCode()
			return nil
		})
		c := dial(t, url, nil)
		if ce := readEnd(t, c); *ce != (polysock.CloseError{Code: 1012, Reason: "restart"}) {
			t.Errorf("end = %+v, want 1012 restart, not clean", ce)
		}
	})
	t.Run("silence", func(t *testing.T) {
		url := scripted(t, func(p *peer) error {
			// ping 1 ms: the client gives up after 2 ms + 200 ms of silence.
			if err := p.open(func(o *wire.Open) { o.Ping = 1 }); err != nil {
				return err
			}
			p.wsCloseCode()
			return nil
		})
		c := dial(t, url, &Options{ReconnectAttempts: -1, LivenessGrace: 200 * time.Millisecond})
		ce := readEnd(t, c)
		if ce.Code != 1006 || !strings.Contains(ce.Reason, "nothing heard") {
			t.Errorf("end = %+v, want 1006 for silence", ce)
		}
	})
}

func TestReadContext(t *testing.T) {
	url := scripted(t, func(p *peer) error {
		if err := p.open(nil); err != nil {
			return err
		}
		if _, err := p.readUntil(wire.TypeText); err != nil {
			return err
		}
		if err := p.send(wire.Frame{Type: wire.TypeText, Seq: 1, Data: []byte("after")}); err != nil {
			return err
		}
		return p.expectClose(1000)
	})
	c := dial(t, url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := c.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read = %v, want DeadlineExceeded", err)
	}
	if err := c.Write(testCtx(t), polysock.Text, []byte("go")); err != nil {
		t.Fatal(err)
	}
	if _, s := readMsg(t, c); s != "after" {
		t.Fatalf("Read after a cancelled Read = %q", s)
	}
}

func TestWriteBlocksWhileQueueFull(t *testing.T) {
	release := make(chan struct{})
	url := scripted(t, func(p *peer) error {
		if err := p.open(nil); err != nil {
			return err
		}
		<-release // read nothing: the network backs up
		return p.ws.NetConn().Close()
	})
	c := dial(t, url, &Options{ReplayBuffer: 1 << 30})
	defer close(release)
	msg := make([]byte, 64<<10)
	for i := 0; ; i++ {
		if i > 8000 { // 500 MiB: far beyond any socket buffers
			t.Fatal("Write never blocked")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := c.Write(ctx, polysock.Binary, msg)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if c.Context().Err() != nil {
		t.Fatal("a blocked Write ended the session")
	}
}
