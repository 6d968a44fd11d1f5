// Command demo serves a small chat over polysock on the embedded defaults: no services
// needed. Run it with `make demo` (or `go run ./demo -addr 127.0.0.1:8080`) and open the
// printed URL in two browser windows; add ?transport=stream or ?transport=poll to force a
// transport. The page (index.html) is plain WebSocket code plus the drop-in client.
//
// POST /admin/kick?nick=NAME&reason=TEXT, accepted from loopback addresses only, closes
// that user's session with the application close code 4401 and the reason.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/polysock/polysock/server"
)

//go:embed index.html
var indexHTML []byte

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(*addr, log); err != nil {
		log.Error("demo failed", "err", err)
		os.Exit(1)
	}
}

func run(addr string, log *slog.Logger) error {
	hub := newHub()
	rt := server.New(hub.serve, &server.Options{Logger: log})
	mux := http.NewServeMux()
	mux.Handle("/rt", rt)
	mux.Handle("/rt/", rt)
	mux.HandleFunc("POST /admin/kick", func(w http.ResponseWriter, r *http.Request) {
		if !fromLoopback(r) {
			http.Error(w, "loopback only", http.StatusForbidden)
			return
		}
		reason := r.URL.Query().Get("reason")
		if reason == "" {
			reason = "kicked"
		}
		if err := hub.kick(r.URL.Query().Get("nick"), reason); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(indexHTML)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("polysock demo: http://%s/  (endpoint http://%s/rt)\n", ln.Addr(), ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go hub.watchTransports(ctx, 500*time.Millisecond)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("failed to serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = rt.Shutdown(shutdownCtx)
	if herr := hs.Shutdown(shutdownCtx); herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		err = errors.Join(err, herr)
	}
	return err
}

// fromLoopback reports whether r came from this machine.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}
