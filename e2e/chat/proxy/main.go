// Command proxy is the hostile network of the chat e2e tests (e2e/chat): an HTTP reverse
// proxy on 127.0.0.1 between the browser and the demo server, in one of these modes:
//
//	pass     forward everything, WebSocket upgrades included; responses flow as they come
//	refuse   answer every WebSocket upgrade with 403; forward the rest
//	refuse1  answer the first WebSocket upgrade with 403; forward the rest (a transient
//	         failure: the next upgrade gets through)
//	kill     accept every WebSocket upgrade itself (101, the right Sec-WebSocket-Accept),
//	         send nothing, and drop the connection after -kill-after (a middlebox that
//	         lets the handshake through and then kills the connection); forward the rest
//	buffer   refuse upgrades (403) and hold every response until it has ended, then send
//	         it whole (a buffering proxy: a stream never gets through)
//	cut      refuse upgrades (403) and cut every carrier response (a request with ps_t)
//	         longer than -cut-bytes bytes of body there, by closing the connection
//
// It prints "listening http://<addr>" once ready and exits when its stdin closes.
// GET /__proxy/stats answers what it did, as JSON counters. POST /__proxy/drop closes every
// connection the browser has with the proxy, WebSockets included (the network went away
// for a moment), and answers how many it closed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

type stats struct {
	mu       sync.Mutex
	Requests int `json:"requests"`
	Upgrades int `json:"upgrades"` // upgrade requests seen
	Refused  int `json:"refused"`
	Killed   int `json:"killed"`
	Buffered int `json:"buffered"` // responses held until their end
	Cut      int `json:"cut"`      // responses cut short
	Dropped  int `json:"dropped"`  // connections closed by /__proxy/drop
}

// conns tracks the browser's connections to the proxy, hijacked ones (WebSockets) included,
// for /__proxy/drop.
type conns struct {
	mu  sync.Mutex
	set map[net.Conn]bool
}

func (c *conns) track(conn net.Conn, state http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if state == http.StateClosed {
		delete(c.set, conn)
	} else {
		c.set[conn] = true
	}
}

// connKey is the context key of the connection a request came on.
type connKey struct{}

// drop closes every tracked connection but keep and returns how many it closed.
func (c *conns) drop(keep net.Conn) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for conn := range c.set {
		if conn != keep {
			_ = conn.Close()
			delete(c.set, conn)
			n++
		}
	}
	return n
}

func (s *stats) add(f func(*stats)) {
	s.mu.Lock()
	f(s)
	s.mu.Unlock()
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	backend := flag.String("backend", "", "the demo server, http://host:port")
	mode := flag.String("mode", "pass", "pass, refuse, refuse1, kill, buffer or cut")
	killAfter := flag.Duration("kill-after", 200*time.Millisecond, "kill: how long an accepted upgrade lives")
	cutBytes := flag.Int("cut-bytes", 1024, "cut: body bytes passed before the connection is cut")
	flag.Parse()
	target, err := url.Parse(*backend)
	if err != nil || target.Host == "" {
		log.Fatalf("proxy: bad -backend %q", *backend)
	}
	switch *mode {
	case "pass", "refuse", "refuse1", "kill", "buffer", "cut":
	default:
		log.Fatalf("proxy: unknown -mode %q", *mode)
	}
	st := &stats{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the backend sees the browser's host: same origin
		},
		FlushInterval: -1, // pass stream bytes at once
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	if *mode == "buffer" {
		rp.ModifyResponse = func(r *http.Response) error {
			body, err := io.ReadAll(r.Body) // until the response ends
			_ = r.Body.Close()
			if err != nil {
				return fmt.Errorf("failed to buffer: %w", err)
			}
			st.add(func(s *stats) { s.Buffered++ })
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			r.Header.Del("Transfer-Encoding")
			return nil
		}
	}

	live := &conns{set: map[net.Conn]bool{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/__proxy/drop" && r.Method == http.MethodPost {
			keep, _ := r.Context().Value(connKey{}).(net.Conn)
			n := live.drop(keep)
			st.add(func(s *stats) { s.Dropped += n })
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]int{"dropped": n})
			return
		}
		if r.URL.Path == "/__proxy/stats" {
			st.mu.Lock()
			defer st.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(st)
			return
		}
		st.add(func(s *stats) { s.Requests++ })
		upgrade := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
		refuse := false
		if upgrade {
			st.add(func(s *stats) {
				s.Upgrades++
				refuse = *mode == "refuse" || *mode == "buffer" || *mode == "cut" || (*mode == "refuse1" && s.Refused == 0)
				if refuse {
					s.Refused++
				}
			})
		}
		switch {
		case refuse:
			http.Error(w, "WebSocket refused by the proxy", http.StatusForbidden)
		case upgrade && *mode == "kill":
			st.add(func(s *stats) { s.Killed++ })
			acceptThenKill(w, r, *killAfter)
		case *mode == "cut" && r.URL.Query().Get("ps_t") != "":
			rp.ServeHTTP(&cutter{ResponseWriter: w, left: *cutBytes, cut: func() { st.add(func(s *stats) { s.Cut++ }) }}, r)
		default:
			rp.ServeHTTP(w, r)
		}
	})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("proxy: %v", err)
	}
	srv := &http.Server{
		Handler:     h,
		ConnState:   live.track,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) },
	}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("listening http://%s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin)) // until the test ends
}

// acceptThenKill answers the upgrade with 101 as a WebSocket server would, then keeps the
// connection silent for d and closes it.
func acceptThenKill(w http.ResponseWriter, r *http.Request, d time.Duration) {
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
	if buf.Flush() != nil {
		return
	}
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, _ = io.Copy(io.Discard, conn) // swallow what the client sends until the deadline
}

// cutter passes the first left bytes of a response body, then closes the connection.
type cutter struct {
	http.ResponseWriter
	left int
	dead bool
	cut  func()
}

func (c *cutter) Write(p []byte) (int, error) {
	if c.dead {
		return 0, net.ErrClosed
	}
	if len(p) <= c.left {
		c.left -= len(p)
		return c.ResponseWriter.Write(p)
	}
	_, _ = c.ResponseWriter.Write(p[:c.left])
	_ = http.NewResponseController(c.ResponseWriter).Flush()
	c.dead = true
	c.cut()
	if conn, _, err := http.NewResponseController(c.ResponseWriter).Hijack(); err == nil {
		_ = conn.Close()
	}
	return 0, net.ErrClosed
}

func (c *cutter) Flush() { _ = http.NewResponseController(c.ResponseWriter).Flush() }

func (c *cutter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
