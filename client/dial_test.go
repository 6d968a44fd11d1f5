package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
)

// Dial against a scripted server: the upgrade request, OPEN validation, refusals before
// OPEN and the dial context.

func TestDialUpgradeRequest(t *testing.T) {
	got := make(chan *http.Request, 1)
	url := scripted(t, func(p *peer) error {
		got <- p.r
		if err := p.open(func(o *wire.Open) { o.Protocol = "b" }); err != nil {
			return err
		}
		return p.answerClose(1000)
	})
	var dials atomic.Int32
	c := dial(t, strings.Replace(url, "ws://", "ws://us%20er:p%40ss@", 1)+"?room=x", &Options{
		Protocols: []string{"a", "b"},
		Header:    http.Header{"Cookie": {"k=v"}, "X-App": {"1"}},
		HTTPClient: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		}},
	})
	r := <-got
	if dials.Load() != 1 {
		t.Errorf("HTTPClient's DialContext used %d times, want 1", dials.Load())
	}
	if u, pw, ok := r.BasicAuth(); !ok || u != "us er" || pw != "p@ss" {
		t.Errorf("basic auth from the URL = %q %q %v", u, pw, ok)
	}
	q := r.URL.Query()
	if q.Get("room") != "x" || q.Get("ps_v") != "1" || q.Get("ps_p") != "a,b" || len(q) != 3 {
		t.Errorf("upgrade query = %v, want room, ps_v=1 and ps_p=a,b", q)
	}
	if r.URL.Path != "/rt" || r.Header.Get("Cookie") != "k=v" || r.Header.Get("X-App") != "1" {
		t.Errorf("upgrade path %q, headers %v", r.URL.Path, r.Header)
	}
	if r.Header.Get("Sec-Websocket-Protocol") != "" {
		t.Errorf("a polysock upgrade used Sec-WebSocket-Protocol: %q", r.Header.Get("Sec-Websocket-Protocol"))
	}
	if c.Protocol() != "b" || c.SessionID() != "sid-1" || c.Transport() != "websocket" {
		t.Errorf("Protocol %q SessionID %q Transport %q", c.Protocol(), c.SessionID(), c.Transport())
	}
	if err := c.Close(1000, ""); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestDialRefusesBadOpen(t *testing.T) {
	cases := []struct {
		name  string
		first func(p *peer) error
		want  string
	}{
		{"version", func(p *peer) error { return p.open(func(o *wire.Open) { o.Version = 2 }) }, "version 2"},
		{"no token", func(p *peer) error { return p.open(func(o *wire.Open) { o.Token = "" }) }, "without sid or token"},
		{"bad sid", func(p *peer) error { return p.open(func(o *wire.Open) { o.Session = "a/b" }) }, "invalid session id"},
		{"transport", func(p *peer) error { return p.open(func(o *wire.Open) { o.Transport = "poll" }) }, `transport "poll"`},
		{"resumed", func(p *peer) error { return p.open(func(o *wire.Open) { o.Resumed = true }) }, "resumed"},
		{"ack", func(p *peer) error { return p.open(func(o *wire.Open) { o.Ack = 3 }) }, "acknowledges 3"},
		{"protocol", func(p *peer) error { return p.open(func(o *wire.Open) { o.Protocol = "z" }) }, `"z", which was not offered`},
		{"maxBody", func(p *peer) error { return p.open(func(o *wire.Open) { o.MaxBody = 100 }) }, "maxBody 100"},
		{"maxMessage", func(p *peer) error { return p.open(func(o *wire.Open) { o.MaxMessage = 0 }) }, "maxMessage 0"},
		{"not json", func(p *peer) error { return p.send(wire.Frame{Type: wire.TypeOpen, Data: []byte("{")}) }, "OPEN body"},
		{"text first", func(p *peer) error { return p.send(wire.Frame{Type: wire.TypeText, Seq: 1, Data: []byte("x")}) }, "starts with TEXT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			closeCode := make(chan int, 1)
			url := scripted(t, func(p *peer) error {
				if err := c.first(p); err != nil {
					return err
				}
				closeCode <- p.wsCloseCode()
				return nil
			})
			_, err := Dial(testCtx(t), url, &Options{Protocols: []string{"a"}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Dial error = %v, want one mentioning %s", err, c.want)
			}
			if code := <-closeCode; code != 1002 {
				t.Errorf("client closed the WebSocket with %d, want 1002", code)
			}
		})
	}
}

func TestDialSurfacesRefusalBeforeOpen(t *testing.T) {
	t.Run("WebSocket close", func(t *testing.T) {
		url := scripted(t, func(p *peer) error {
			msg := websocket.FormatCloseMessage(4001, "unsupported protocol version; this server speaks 1")
			p.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			p.wsCloseCode()
			return nil
		})
		_, err := Dial(testCtx(t), url, nil)
		var ce *polysock.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "unsupported protocol version; this server speaks 1" {
			t.Fatalf("Dial error = %v, want a CloseError 4001 with the reason", err)
		}
	})
	t.Run("CLOSE frame", func(t *testing.T) {
		url := scripted(t, func(p *peer) error {
			p.send(wire.Frame{Type: wire.TypeClose, Code: 4004, Data: []byte("unknown session")})
			p.wsCloseCode()
			return nil
		})
		_, err := Dial(testCtx(t), url, nil)
		if ce := closeOf(err); ce == nil || ce.Code != 4004 || ce.Reason != "unknown session" {
			t.Fatalf("Dial error = %v, want a CloseError 4004", err)
		}
	})
	cases := []struct {
		status   int
		header   string
		body     string
		code     int
		reason   string
		inString string
	}{
		{403, "", "forbidden\n", 1008, "forbidden", "HTTP 403"},
		{403, "1008", "1008 origin not allowed\n", 1008, "origin not allowed", "HTTP 403"},
		{400, "4001", "4001 unsupported version\n", 4001, "unsupported version", "HTTP 400"},
		{503, "1013", "1013 too many sessions\n", 1013, "too many sessions", "HTTP 503"},
		{500, "", "boom\n", -1, "", "HTTP 500 Internal Server Error: boom"},
		{200, "", "hello", -1, "", "HTTP 200"},
	}
	for _, c := range cases {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.header != "" {
				w.Header().Set("X-PolySock-Close", c.header)
			}
			w.WriteHeader(c.status)
			w.Write([]byte(c.body))
		}))
		_, err := Dial(testCtx(t), hs.URL, nil)
		hs.Close()
		if err == nil || !strings.Contains(err.Error(), c.inString) {
			t.Errorf("HTTP %d: Dial error = %v, want one containing %q", c.status, err, c.inString)
			continue
		}
		ce := closeOf(err)
		switch {
		case c.code == -1 && ce != nil:
			t.Errorf("HTTP %d: error wraps %+v, want no CloseError", c.status, ce)
		case c.code != -1 && (ce == nil || ce.Code != c.code || ce.Reason != c.reason):
			t.Errorf("HTTP %d: error wraps %+v, want code %d reason %q", c.status, ce, c.code, c.reason)
		}
	}
}

func TestDialHonoursContext(t *testing.T) {
	t.Run("no OPEN", func(t *testing.T) {
		url := scripted(t, func(p *peer) error {
			p.wsCloseCode() // wait for the client to give up
			return nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := Dial(ctx, url, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Dial error = %v, want DeadlineExceeded", err)
		}
	})
	t.Run("no handshake answer", func(t *testing.T) {
		var wg sync.WaitGroup
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			wg.Add(1)
			defer wg.Done()
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			conn.SetReadDeadline(time.Now().Add(hangGuard))
			var b [1]byte
			conn.Read(b[:]) // until the client hangs up
		}))
		defer func() { hs.Close(); wg.Wait() }()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		_, err := Dial(ctx, hs.URL, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Dial error = %v, want Canceled", err)
		}
	})
	t.Run("already done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Dial(ctx, "ws://127.0.0.1:1/", nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Dial error = %v, want Canceled", err)
		}
	})
}

func TestDialRefusesBadArguments(t *testing.T) {
	for _, c := range []struct {
		url  string
		opts *Options
		want string
	}{
		{"ftp://x/", nil, "scheme"},
		{"ws://x/#f", nil, "fragment"},
		{"ws://x/", &Options{Transports: []string{"stream", "stream"}}, "listed twice"},
		{"ws://x/", &Options{AttemptTimeout: -1}, "AttemptTimeout"},
		{"ws://x/", &Options{Protocols: []string{"a b"}}, "subprotocol"},
	} {
		_, err := Dial(context.Background(), c.url, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "failed to dial") {
			t.Errorf("Dial(%q, %+v) = %v, want a dial error about %s", c.url, c.opts, err, c.want)
		}
	}
}

// A Transport shared with requests made at the same time: net/http sets its defaults on
// its first request, and the WebSocket dial reads its settings; under -race this test
// fails if the dial reads them without waiting for that.
func TestDialSharedTransportNoRace(t *testing.T) {
	url := scripted(t, func(p *peer) error {
		if err := p.open(nil); err != nil {
			return err
		}
		return p.answerClose(1000)
	})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer hs.Close()
	hc := &http.Client{Transport: &http.Transport{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if resp, err := hc.Get(hs.URL); err == nil {
			resp.Body.Close()
		}
	}()
	c := dial(t, url, &Options{HTTPClient: hc})
	wg.Wait()
	_ = c.Close(polysock.CloseNormal, "")
}
