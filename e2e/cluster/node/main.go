// Command node is one polysock node of the e2e cluster test: the test chat
// (internal/chattest) on a Redis broker. It prints "ready <base URL>" on stdout once it serves.
//
//	node -addr 127.0.0.1:9001 -redis 127.0.0.1:6379 -node n1
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	psredis "github.com/polysock/polysock/broker/redis"
	"github.com/polysock/polysock/internal/chattest"
	"github.com/polysock/polysock/server"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis address")
	nodeID := flag.String("node", "", "node id (default random)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(*addr, *redisAddr, *nodeID, log); err != nil {
		log.Error("node failed", "err", err)
		os.Exit(1)
	}
}

func run(addr, redisAddr, nodeID string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: redisAddr})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	b, err := psredis.New(ctx, rdb, &psredis.Options{NodeID: nodeID, AdvertiseURL: "http://" + ln.Addr().String(), Logger: log})
	cancel()
	if err != nil {
		return err
	}
	defer b.Close()
	var srv *server.Server
	srv = server.New(chattest.Handler(func() *server.Server { return srv }), &server.Options{Broker: b, Logger: log})
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Println("ready", "http://"+ln.Addr().String())
	sig, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case err := <-errc:
		return fmt.Errorf("failed to serve: %w", err)
	case <-sig.Done():
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	return hs.Shutdown(ctx)
}
