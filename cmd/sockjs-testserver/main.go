// Command sockjs-testserver serves the conventional SockJS test services on a polysock
// server, so that the SockJS protocol's own test suite (sockjs-protocol, run with
// SOCKJS_URL=http://127.0.0.1:8081) and sockjs-client interop tests can be pointed at it:
//
//	/echo                     echoes every message; raw WebSocket on; response limit 4096
//	/close                    closes every session with 3000 "Go away!"
//	/disabled_websocket_echo  /echo without the WebSocket transport
//	/cookie_needed_echo       /echo with the JSESSIONID cookie
//
// It also serves sockjs-client's dist directory (from node_modules) at /sockjs-client/,
// which the iframe page of every service loads, and a blank page at / that loads it for
// browser tests.
//
// Usage:
//
//	go run ./cmd/sockjs-testserver [-addr 127.0.0.1:8081] [-client-dir node_modules/sockjs-client/dist]
//
// The first line on stdout is "listening on http://<addr>", with the real port when
// -addr ends in :0. The origin check is off (InsecureSkipOriginCheck): the protocol's
// test suite sends made-up origins such as "test" and "null". Do not expose this server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/polysock/polysock/server"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	clientDir := flag.String("client-dir", "node_modules/sockjs-client/dist", "sockjs-client dist directory, served at /sockjs-client/")
	flag.Parse()
	if err := run(*addr, *clientDir); err != nil {
		log.Fatal(err)
	}
}

func run(addr, clientDir string) error {
	opts := &server.Options{InsecureSkipOriginCheck: true}
	echoSrv := server.New(echo, opts)
	closeSrv := server.New(func(s *server.Session) { _ = s.Close(3000, "Go away!") }, opts)
	const sockjsURL = "/sockjs-client/sockjs.min.js"
	service := func(srv *server.Server, prefix string, o server.SockJSOptions) (string, http.Handler) {
		o.SockJSURL, o.ResponseLimit = sockjsURL, 4096
		return prefix, srv.SockJSHandler(prefix, &o)
	}
	mux := newPrefixMux()
	mux.handle(service(echoSrv, "/echo", server.SockJSOptions{RawWebSocket: true}))
	mux.handle(service(closeSrv, "/close", server.SockJSOptions{RawWebSocket: true}))
	mux.handle(service(echoSrv, "/disabled_websocket_echo", server.SockJSOptions{DisableWebSocket: true}))
	mux.handle(service(echoSrv, "/cookie_needed_echo", server.SockJSOptions{JSessionID: true}))
	mux.handle("/sockjs-client", http.StripPrefix("/sockjs-client", http.FileServer(http.Dir(clientDir))))
	mux.exact("/", http.HandlerFunc(indexPage))

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = echoSrv.Shutdown(sctx)
		_ = closeSrv.Shutdown(sctx)
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("failed to serve: %w", err)
	}
	return nil
}

// echo sends every message back.
func echo(s *server.Session) {
	ctx := s.Context()
	for {
		typ, data, err := s.Read(ctx)
		if err != nil {
			return
		}
		if err := s.Write(ctx, typ, data); err != nil {
			return
		}
	}
}

func indexPage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = fmt.Fprint(w, `<!doctype html>
<html><head><meta charset="utf-8"><title>sockjs-testserver</title>
<script src="/sockjs-client/sockjs.min.js"></script></head>
<body><p>SockJS services: /echo, /close, /disabled_websocket_echo, /cookie_needed_echo</p></body></html>
`)
}

// prefixMux routes by path prefix without cleaning paths: the SockJS protocol expects 404
// (not a redirect) for paths such as /echo//xhr, which http.ServeMux would clean.
type prefixMux struct {
	prefixes []string
	handlers map[string]http.Handler
	exacts   map[string]http.Handler
}

func newPrefixMux() *prefixMux {
	return &prefixMux{handlers: map[string]http.Handler{}, exacts: map[string]http.Handler{}}
}

func (m *prefixMux) handle(prefix string, h http.Handler) {
	m.prefixes = append(m.prefixes, prefix)
	m.handlers[prefix] = h
}

func (m *prefixMux) exact(path string, h http.Handler) { m.exacts[path] = h }

func (m *prefixMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m.exacts[r.URL.Path]; ok {
		h.ServeHTTP(w, r)
		return
	}
	for _, p := range m.prefixes {
		if r.URL.Path == p || strings.HasPrefix(r.URL.Path, p+"/") {
			m.handlers[p].ServeHTTP(w, r)
			return
		}
	}
	http.NotFound(w, r)
}
