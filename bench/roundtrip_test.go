package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/server"
)

// roundTripClients is the number of concurrent clients of BenchmarkRoundTrip, the same
// as wrk's -c50 in bench/cmd/httpcompare.
const roundTripClients = 50

// BenchmarkRoundTrip compares long-poll round trips with a hello-world net/http handler
// under the same Go load generator: roundTripClients goroutines, each sending one GET
// at a time over a keep-alive connection and reading the whole answer; b.N requests in
// all. Metrics: requests/s and the p50/p99 request latency in µs.
//
//   - target=poll: each client has its own polysock session on the poll transport
//     (binary form). Before each GET the client signals its session's handler, which
//     writes one 4-byte message; the GET (carrying the client's ack) is answered with
//     that message. So every request is one server→client message delivered by a poll,
//     as when a server pushes to a polling page. The signal is an in-process channel.
//   - target=hello: GET of HelloWorld.
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("target=poll", benchPollRoundTrip)
	b.Run("target=hello", func(b *testing.B) {
		b.ReportAllocs()
		ts := httptest.NewServer(http.HandlerFunc(HelloWorld))
		defer ts.Close()
		hc, closeIdle := newHTTPClient()
		defer closeIdle()
		lat := runLoad(b, roundTripClients, func(int) error {
			_, err := get(context.Background(), hc, ts.URL)
			return err
		})
		reportLatency(b, lat, "requests/s")
	})
}

// pollSignals maps a session ID to the channel its handler waits on.
type pollSignals struct{ m sync.Map }

func (p *pollSignals) handler(s *server.Session) {
	next := make(chan struct{}, 1)
	p.m.Store(s.ID(), next)
	defer p.m.Delete(s.ID())
	ctx := s.Context()
	for {
		select {
		case <-next:
		case <-ctx.Done():
			return
		}
		if err := s.Write(ctx, polysock.Binary, []byte("push")); err != nil {
			return
		}
	}
}

// signal returns the channel of session id, waiting (bounded) for its handler to start.
func (p *pollSignals) signal(id string) (chan struct{}, error) {
	for range 5000 {
		if c, ok := p.m.Load(id); ok {
			return c.(chan struct{}), nil
		}
		time.Sleep(time.Millisecond)
	}
	return nil, fmt.Errorf("the handler of session %s did not start", id)
}

// pollClient is one client of target=poll.
type pollClient struct {
	pollURL string // without the value of ps_ack
	next    chan struct{}
	recv    uint64
}

func benchPollRoundTrip(b *testing.B) {
	b.ReportAllocs()
	ctx, cancel := context.WithTimeout(context.Background(), echoGuard)
	defer cancel()
	var sig pollSignals
	srv := server.New(sig.handler, &server.Options{PingInterval: time.Hour})
	ts := httptest.NewServer(srv)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		ts.Close()
	}()
	hc, closeIdle := newHTTPClient()
	defer closeIdle()
	clients := make([]*pollClient, roundTripClients)
	for i := range clients {
		body, err := get(ctx, hc, ts.URL+"/?"+wire.ParamVersion+"=1&"+wire.ParamTransport+"=poll&"+wire.ParamEncoding+"=bin")
		if err != nil {
			b.Fatal(err)
		}
		var o wire.Open
		if err := wire.DecodeBatch(body, func(f *wire.Frame) error {
			if f.Type == wire.TypeOpen {
				o, err = wire.DecodeOpen(f.Data)
			}
			return err
		}); err != nil || o.Session == "" {
			b.Fatalf("no OPEN in the first poll: %v", err)
		}
		next, err := sig.signal(o.Session)
		if err != nil {
			b.Fatal(err)
		}
		q := url.Values{wire.ParamVersion: {"1"}, wire.ParamTransport: {"poll"}, wire.ParamEncoding: {"bin"},
			wire.ParamSession: {o.Session}, wire.ParamToken: {o.Token}}
		clients[i] = &pollClient{pollURL: ts.URL + "/?" + q.Encode() + "&" + wire.ParamAck + "=", next: next}
	}
	lat := runLoad(b, len(clients), func(i int) error {
		c := clients[i]
		c.next <- struct{}{}
		want := c.recv + 1
		// A poll can come back without the message (a PING, or an answer racing the
		// write); poll again until it is there. Only message-carrying polls are counted.
		for c.recv < want {
			body, err := get(ctx, hc, c.pollURL+strconv.FormatUint(c.recv, 10))
			if err != nil {
				return err
			}
			if err := wire.DecodeBatch(body, func(f *wire.Frame) error {
				if f.Type == wire.TypeClose {
					return errors.New("session closed")
				}
				if f.Type.IsData() && f.Seq > c.recv {
					c.recv = f.Seq
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	reportLatency(b, lat, "requests/s")
}

// get sends a GET and returns the body of its 200 answer.
func get(ctx context.Context, hc *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
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
