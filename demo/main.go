// Command demo serves a small chat over polysock on the embedded defaults: no services
// needed. Run it with `make demo` (or `go run ./demo -addr 127.0.0.1:8080`) and open the
// printed URL in two browser windows; add ?transport=stream or ?transport=poll to force a
// transport. The page (index.html) is plain WebSocket code plus the drop-in client.
//
// With -redis the demo is one node of a cluster (broker/redis): rooms reach the users of
// every node, and a session's requests may land on any node. `make demo-cluster` runs
// three nodes and, with -proxy, a round-robin proxy in front of them (docs/SCALING.md):
//
//	demo -addr 127.0.0.1:8081 -redis 127.0.0.1:6379 -node n1
//	demo -proxy 127.0.0.1:8080 -backends http://127.0.0.1:8081,http://127.0.0.1:8082
//
// POST /admin/kick?nick=NAME&reason=TEXT, accepted from loopback addresses only, closes
// that user's session with the application close code 4401 and the reason (on the node
// that owns it).
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
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/polysock/polysock/broker"
	psredis "github.com/polysock/polysock/broker/redis"
	"github.com/polysock/polysock/internal/rrproxy"
	"github.com/polysock/polysock/server"
)

//go:embed index.html
var indexHTML []byte

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	redisAddr := flag.String("redis", "", "Redis address (host:port): run as a cluster node; empty runs alone, in memory")
	nodeID := flag.String("node", "", "with -redis: this node's id, [A-Za-z0-9-]{1,32} (default random)")
	advertise := flag.String("advertise", "", "with -redis: the URL other nodes reach this one at (default http://<addr>)")
	proxy := flag.String("proxy", "", "run a round-robin proxy without stickiness on this address instead of a node")
	backends := flag.String("backends", "", "with -proxy: comma-separated node URLs")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var err error
	if *proxy != "" {
		err = runProxy(*proxy, strings.Split(*backends, ","))
	} else {
		err = run(*addr, *redisAddr, *nodeID, *advertise, log)
	}
	if err != nil {
		log.Error("demo failed", "err", err)
		os.Exit(1)
	}
}

func run(addr, redisAddr, nodeID, advertise string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	var b broker.Broker // nil: in memory
	if redisAddr != "" {
		if advertise == "" {
			advertise = "http://" + ln.Addr().String()
		}
		rdb := goredis.NewClient(&goredis.Options{Addr: redisAddr})
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rb, err := psredis.New(ctx, rdb, &psredis.Options{NodeID: nodeID, AdvertiseURL: advertise, Logger: log})
		cancel()
		if err != nil {
			return err
		}
		defer rb.Close()
		b = rb
		log.Info("cluster node", "node", rb.NodeID(), "redis", redisAddr, "advertise", advertise)
	}
	hub := newHub()
	rt := server.New(hub.serve, &server.Options{Logger: log, Broker: b})
	hub.srv = rt
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
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("polysock demo: http://%s/  (endpoint http://%s/rt)\n", ln.Addr(), ln.Addr())

	return serve(hs, ln, 10*time.Second, func(ctx context.Context) {
		go hub.watchTransports(ctx, 500*time.Millisecond)
	}, rt.Shutdown)
}

// runProxy serves a round-robin proxy over backends until interrupted: each request and
// each WebSocket connection goes to the next node, whatever session it belongs to.
func runProxy(addr string, backends []string) error {
	p, err := rrproxy.New(backends...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	fmt.Printf("polysock demo cluster: http://%s/  (round robin over %s)\n", ln.Addr(), strings.Join(backends, " "))
	hs := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	return serve(hs, ln, 5*time.Second, nil, nil)
}

// serve runs hs on ln until SIGINT or SIGTERM, calling started (if not nil) with a context
// that ends then; it then shuts down first (if not nil) and hs, within grace.
func serve(hs *http.Server, ln net.Listener, grace time.Duration, started func(context.Context), first func(context.Context) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if started != nil {
		started(ctx)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("failed to serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var err error
	if first != nil {
		err = first(shutdownCtx)
	}
	if herr := hs.Shutdown(shutdownCtx); herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		err = errors.Join(err, herr)
	}
	return err
}

// fromLoopback reports whether r came from this machine, and not through a proxy on it
// (the demo's round-robin proxy passes on every client's request from a loopback
// address, with X-Forwarded-For).
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback() && r.Header.Get("X-Forwarded-For") == ""
}
