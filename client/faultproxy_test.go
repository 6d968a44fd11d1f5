package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock/internal/wire"
)

// faultProxy is a hostile network for the tests: an HTTP and WebSocket proxy on
// 127.0.0.1 between the client and a server, which, while its faults are enabled, cuts
// client connections after a random number of bytes (so mid-frame, in either direction),
// drops poll answers (the server sent them; the client's connection is closed instead),
// sends POSTs twice, holds a POST back and delivers it after a newer one of the same
// session, and refuses new connections for a while when asked. Its randomness comes from
// one seed. Between the proxy and the server nothing is lost.
type faultProxy struct {
	t       testing.TB
	backend string // host:port of the server
	hs      *httptest.Server
	tr      *http.Transport // to the server
	cfg     faultConfig

	rngMu sync.Mutex
	rng   *rand.Rand

	enabled     atomic.Bool
	refuseUntil atomic.Int64 // unix nanoseconds

	mu    sync.Mutex
	conns map[*cutConn]struct{} // open client connections
	wg    sync.WaitGroup        // WebSocket pipes

	staleMu sync.Mutex
	stale   map[string]*heldPost // by session id

	cuts, pollDrops, postDups, postDelays, staleDelivered, refused atomic.Int64
}

// faultConfig sets the fault rates. Zero values disable a fault.
type faultConfig struct {
	CutMin, CutMax int     // a connection is cut after a random count of bytes in [CutMin, CutMax]
	PollDrop       float64 // probability that the answer to a poll of a running session is dropped
	PostDup        float64 // probability that a POST is sent to the server twice
	PostDelay      float64 // probability that a POST is held back and delivered after a newer one
}

type heldPost struct {
	uri    string
	header http.Header
	body   []byte
}

// newFaultProxy starts a proxy to the server at backendURL (http://host:port). Faults
// are disabled until Enable. Cleanup cuts every connection and waits for the proxy.
func newFaultProxy(t testing.TB, backendURL string, seed uint64, cfg faultConfig) *faultProxy {
	p := &faultProxy{
		t:       t,
		backend: strings.TrimPrefix(backendURL, "http://"),
		tr:      &http.Transport{},
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		conns:   map[*cutConn]struct{}{},
		stale:   map[string]*heldPost{},
	}
	p.hs = httptest.NewUnstartedServer(p)
	p.hs.Listener = &faultListener{Listener: p.hs.Listener, p: p}
	p.hs.Start()
	t.Cleanup(p.close)
	return p
}

// url is the proxy's endpoint URL for the client (ws form, path /rt).
func (p *faultProxy) url() string { return "ws" + strings.TrimPrefix(p.hs.URL, "http") + "/rt" }

// Enable turns the faults on.
func (p *faultProxy) Enable() { p.enabled.Store(true) }

// Quiesce turns the faults off and delivers the POSTs still held back, so that from its
// return on the network is clean (and no stale POST can arrive after a later one).
func (p *faultProxy) Quiesce() {
	p.enabled.Store(false)
	p.staleMu.Lock()
	defer p.staleMu.Unlock()
	for sid, h := range p.stale {
		delete(p.stale, sid)
		p.deliverStale(h)
	}
}

// RefuseFor makes the proxy close every new connection at once for d.
func (p *faultProxy) RefuseFor(d time.Duration) {
	p.refuseUntil.Store(time.Now().Add(d).UnixNano())
}

// CutAll cuts every open client connection.
func (p *faultProxy) CutAll() {
	p.mu.Lock()
	conns := make([]*cutConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.cut()
	}
}

func (p *faultProxy) close() {
	p.enabled.Store(false)
	p.hs.CloseClientConnections()
	p.CutAll()
	p.hs.Close()
	p.wg.Wait()
	p.tr.CloseIdleConnections()
}

// roll reports true with probability prob, while the faults are enabled.
func (p *faultProxy) roll(prob float64) bool {
	if prob <= 0 || !p.enabled.Load() {
		return false
	}
	p.rngMu.Lock()
	defer p.rngMu.Unlock()
	return p.rng.Float64() < prob
}

func (p *faultProxy) budget() int64 {
	if p.cfg.CutMax <= 0 {
		return -1
	}
	p.rngMu.Lock()
	defer p.rngMu.Unlock()
	return int64(p.cfg.CutMin + p.rng.IntN(p.cfg.CutMax-p.cfg.CutMin+1))
}

// faultListener refuses connections while asked to and wraps the others in cutConns.
type faultListener struct {
	net.Listener
	p *faultProxy
}

func (l *faultListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if time.Now().UnixNano() < l.p.refuseUntil.Load() {
			l.p.refused.Add(1)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset, as close to a refusal as an accepted socket gets
			}
			c.Close()
			continue
		}
		cc := &cutConn{Conn: c, p: l.p, left: l.p.budget()}
		l.p.mu.Lock()
		l.p.conns[cc] = struct{}{}
		l.p.mu.Unlock()
		return cc, nil
	}
}

// cutConn is a client connection that is cut once its byte budget, counted in both
// directions while the faults are enabled, runs out: the last read or write is partial.
type cutConn struct {
	net.Conn
	p      *faultProxy
	mu     sync.Mutex
	left   int64 // bytes before the cut; < 0 means never
	closed bool
}

var errCut = errors.New("faultproxy: connection cut")

// spend takes up to n bytes from the budget and reports how many may pass and whether
// the connection must be cut after them.
func (c *cutConn) spend(n int) (int, bool) {
	if !c.p.enabled.Load() {
		return n, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left < 0 {
		return n, false
	}
	if int64(n) < c.left {
		c.left -= int64(n)
		return n, false
	}
	k := int(c.left)
	c.left = 0
	return k, true
}

func (c *cutConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		if k, cut := c.spend(n); cut {
			c.cut()
			if k == 0 {
				return 0, errCut
			}
			return k, nil
		}
	}
	return n, err
}

func (c *cutConn) Write(b []byte) (int, error) {
	k, cut := c.spend(len(b))
	if !cut {
		return c.Conn.Write(b)
	}
	n, _ := c.Conn.Write(b[:k])
	c.cut()
	return n, errCut
}

// cut closes the connection (once), counting it when the faults are on.
func (c *cutConn) cut() {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.mu.Unlock()
	if first {
		if c.p.enabled.Load() {
			c.p.cuts.Add(1)
		}
		c.Conn.Close()
		c.p.mu.Lock()
		delete(c.p.conns, c)
		c.p.mu.Unlock()
	}
}

func (c *cutConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.p.mu.Lock()
	delete(c.p.conns, c)
	c.p.mu.Unlock()
	return c.Conn.Close()
}

// ServeHTTP proxies one request.
func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case websocket.IsWebSocketUpgrade(r):
		p.serveWebSocket(w, r)
	case r.Method == http.MethodPost:
		p.servePost(w, r)
	default:
		p.serveGet(w, r)
	}
}

// abort closes the client's connection without an answer.
func abort() { panic(http.ErrAbortHandler) }

// forward sends the request to the server.
func (p *faultProxy) forward(ctx context.Context, method, uri string, header http.Header, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+p.backend+uri, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		switch k {
		case "Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length":
			continue
		}
		req.Header[k] = v
	}
	return p.tr.RoundTrip(req)
}

// answer copies the server's response to the client, flushing as it goes (streams).
func answer(w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	fl := w.(http.Flusher)
	fl.Flush()
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				abort()
			}
			fl.Flush()
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			abort()
		}
	}
}

func (p *faultProxy) serveGet(w http.ResponseWriter, r *http.Request) {
	resp, err := p.forward(r.Context(), r.Method, r.URL.RequestURI(), r.Header, nil)
	if err != nil {
		abort()
	}
	q := r.URL.Query()
	if q.Get(wire.ParamTransport) == wire.TransportPoll && q.Get(wire.ParamSession) != "" && p.roll(p.cfg.PollDrop) {
		// The server sent its answer; the client never gets it.
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		p.pollDrops.Add(1)
		abort()
	}
	answer(w, resp)
}

func (p *faultProxy) servePost(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		abort()
	}
	uri, sid := r.URL.RequestURI(), r.URL.Query().Get(wire.ParamSession)
	if len(body) > 0 && p.roll(p.cfg.PostDelay) {
		p.staleMu.Lock()
		held := p.stale[sid] == nil
		if held {
			p.stale[sid] = &heldPost{uri: uri, header: r.Header.Clone(), body: body}
			p.postDelays.Add(1)
		}
		p.staleMu.Unlock()
		if held {
			abort() // the client sends it again; this copy arrives after a newer POST
		}
	}
	resp, err := p.forward(r.Context(), r.Method, uri, r.Header, body)
	if err != nil {
		abort()
	}
	if p.roll(p.cfg.PostDup) {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		p.postDups.Add(1)
		if resp, err = p.forward(r.Context(), r.Method, uri, r.Header, body); err != nil {
			abort()
		}
	}
	if p.enabled.Load() {
		p.staleMu.Lock()
		if h := p.stale[sid]; h != nil {
			delete(p.stale, sid)
			p.deliverStale(h)
		}
		p.staleMu.Unlock()
	}
	answer(w, resp)
}

// deliverStale sends a held-back POST to the server and discards the answer.
func (p *faultProxy) deliverStale(h *heldPost) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if resp, err := p.forward(ctx, http.MethodPost, h.uri, h.header, h.body); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		p.staleDelivered.Add(1)
	}
}

// serveWebSocket passes the upgrade to the server and then pipes bytes both ways until
// either side ends (or the client connection is cut).
func (p *faultProxy) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	back, err := net.Dial("tcp", p.backend)
	if err != nil {
		abort()
	}
	client, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		back.Close()
		return
	}
	if err := r.Write(back); err != nil {
		back.Close()
		client.Close()
		return
	}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		back.Write(b)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		done := make(chan struct{})
		go func() {
			io.Copy(back, client)
			back.Close()
			client.Close()
			close(done)
		}()
		io.Copy(client, back)
		client.Close()
		back.Close()
		<-done
	}()
}
