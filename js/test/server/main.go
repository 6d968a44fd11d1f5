package main

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/server"
)

func main() {
	protocols := flag.String("subprotocols", "", "comma-separated subprotocols the server supports")
	ping := flag.Duration("ping", 0, "heartbeat interval (0: the server default)")
	streamMax := flag.Int64("stream-max", 0, "stream bytes before recycling (0: the server default)")
	hold := flag.Duration("hold", 0, "poll hold time (0: the server default)")
	wsMode := flag.String("websocket", "ok", "ok, refuse, hang, kill, close:<code> or silent")
	streamMode := flag.String("stream", "ok", "ok or hang")
	verbose := flag.Bool("v", false, "log to stderr")
	flag.Parse()

	opts := &server.Options{PingInterval: *ping, StreamMaxBytes: *streamMax, PollHold: *hold}
	if *protocols != "" {
		opts.Subprotocols = strings.Split(*protocols, ",")
	}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := server.New(app, opts)
	mux := http.NewServeMux()
	mux.Handle("/rt", srv)
	mux.Handle("/rt/", srv)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
	hs := &http.Server{Handler: hostile(mux, *wsMode, *streamMode), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	fmt.Printf("listening http://%s/rt\n", ln.Addr())

	// Run until stdin closes: the test's end, however it ends.
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	_ = hs.Shutdown(ctx)
}

// hostile wraps next with the network failures the flags ask for.
func hostile(next http.Handler, wsMode, streamMode string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upgrade := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
		switch {
		case upgrade && wsMode == "refuse":
			http.Error(w, "no WebSocket here", http.StatusForbidden)
		case upgrade && wsMode == "kill":
			// Answer 101 as a WebSocket server would, then drop the connection.
			h := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			_, _ = buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
				base64.StdEncoding.EncodeToString(h[:]) + "\r\n\r\n")
			_ = buf.Flush()
			_ = conn.Close()
		case upgrade && strings.HasPrefix(wsMode, "close:"):
			code, _ := strconv.Atoi(wsMode[len("close:"):])
			ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
			if err != nil {
				return
			}
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, "refused by the test server"), time.Now().Add(time.Second))
			_ = ws.Close()
		case upgrade && wsMode == "silent":
			ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
			if err != nil {
				return
			}
			o := wire.Open{Version: wire.Version, Session: "silent", Token: "silent", Transport: wire.TransportWebSocket,
				Ping: 100, Timeout: 60000, Resume: 30000, MaxMessage: 1 << 20, MaxBody: 1 << 21}
			f := o.Frame()
			_ = ws.WriteMessage(websocket.BinaryMessage, wire.AppendBinary(nil, &f))
			for { // read and ignore everything, answer nothing
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		case (upgrade && wsMode == "hang") || (streamMode == "hang" && r.Method == http.MethodGet && r.URL.Query().Get("ps_t") == "stream"):
			<-r.Context().Done()
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// app echoes each message and runs the commands.
func app(s *server.Session) {
	ctx := s.Context()
	for {
		typ, data, err := s.Read(ctx)
		if err != nil {
			return
		}
		msg := string(data)
		switch {
		case typ == polysock.Text && strings.HasPrefix(msg, "close:"):
			parts := strings.SplitN(msg, ":", 3)
			code, _ := strconv.Atoi(parts[1])
			_ = s.Close(code, parts[2])
			return
		case typ == polysock.Text && strings.HasPrefix(msg, "burst:"):
			n, _ := strconv.Atoi(msg[len("burst:"):])
			for i := 0; i < n; i++ {
				if s.Write(ctx, polysock.Text, []byte(strconv.Itoa(i))) != nil {
					return
				}
			}
		case typ == polysock.Text && msg == "transport":
			_ = s.Write(ctx, polysock.Text, []byte(s.Transport()))
		case typ == polysock.Text && msg == "protocol":
			_ = s.Write(ctx, polysock.Text, []byte(s.Protocol()))
		default:
			if s.Write(ctx, typ, data) != nil {
				return
			}
		}
	}
}
