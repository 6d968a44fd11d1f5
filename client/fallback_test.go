package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/server"
)

// Automatic mode (Options.Transports nil): websocket, then stream, then poll, through a
// front that blocks some of them as proxies and middleboxes do.

// blockingFront serves the real server behind block, which answers a request itself and
// returns true when it blocks it. It returns the endpoint URL and a counter of requests.
func blockingFront(t *testing.T, block func(w http.ResponseWriter, r *http.Request) bool) (string, *atomic.Int64) {
	srv := server.New(echo, nil)
	var n atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if !block(w, r) {
			srv.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(func() {
		srv.Shutdown(testCtx(t))
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/rt", &n
}

func isUpgrade(r *http.Request) bool { return r.Header.Get("Upgrade") != "" }

func TestAutomaticFallback(t *testing.T) {
	badGateway := func(w http.ResponseWriter) bool {
		http.Error(w, "blocked by proxy", http.StatusBadGateway)
		return true
	}
	for _, c := range []struct {
		name  string
		block func(w http.ResponseWriter, r *http.Request) bool
		want  string
	}{
		{"nothing blocked", func(http.ResponseWriter, *http.Request) bool { return false }, wire.TransportWebSocket},
		{"upgrade refused", func(w http.ResponseWriter, r *http.Request) bool {
			return isUpgrade(r) && badGateway(w)
		}, wire.TransportStream},
		{"upgrade and stream refused", func(w http.ResponseWriter, r *http.Request) bool {
			return (isUpgrade(r) || r.URL.Query().Get(wire.ParamTransport) == wire.TransportStream) && badGateway(w)
		}, wire.TransportPoll},
		{"upgrade hangs", func(w http.ResponseWriter, r *http.Request) bool {
			if !isUpgrade(r) {
				return false
			}
			<-r.Context().Done() // until the client gives up on it
			return true
		}, wire.TransportStream},
	} {
		t.Run(c.name, func(t *testing.T) {
			url, _ := blockingFront(t, c.block)
			hc := &http.Client{Transport: &http.Transport{}}
			t.Cleanup(hc.CloseIdleConnections)
			conn := dial(t, url, &Options{HTTPClient: hc, AttemptTimeout: 300 * time.Millisecond})
			if conn.Transport() != c.want {
				t.Fatalf("Transport() = %q, want %q", conn.Transport(), c.want)
			}
			roundTrip(t, conn, []message{{polysock.Text, []byte("through " + c.want)}})
		})
	}
}

// A refusal from the polysock server itself (here a refused Origin) ends the dial: the
// other transports would be refused too.
func TestAutomaticStopsOnRefusal(t *testing.T) {
	url, n := blockingFront(t, func(http.ResponseWriter, *http.Request) bool { return false })
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	_, err := Dial(testCtx(t), url, &Options{HTTPClient: hc, Header: http.Header{"Origin": {"http://evil.example"}}})
	var ce *polysock.CloseError
	if !errors.As(err, &ce) || ce.Code != polysock.ClosePolicyViolation {
		t.Fatalf("Dial = %v, want close code 1008", err)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("%d requests reached the server, want 1 (no fallback after a refusal)", got)
	}
}

// Every transport of the list failing gives an error naming each attempt.
func TestAutomaticAllFail(t *testing.T) {
	url, _ := blockingFront(t, func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "blocked", http.StatusBadGateway)
		return true
	})
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	_, err := Dial(context.Background(), url, &Options{HTTPClient: hc})
	if err == nil {
		t.Fatal("Dial succeeded through a front that blocks everything")
	}
	for _, tr := range []string{"websocket", "stream", "poll"} {
		if !strings.Contains(err.Error(), "failed to dial "+tr) {
			t.Errorf("error %q does not report the %s attempt", err, tr)
		}
	}
}
