// Command demo serves a small chat over polysock on the embedded defaults: no services
// needed. Run it with `make demo` (or `go run ./demo -addr 127.0.0.1:8080`) and open the
// printed URL in two browser windows.
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
