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
	"sync"
	"sync/atomic"
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
	resume := flag.Duration("resume", 0, "resume window (0: the server default)")
	flag.Func("websocket", "ok, refuse, hang, kill, close:<code>, silent or flap", func(v string) error { wsMode.Store(v); return nil })
	flag.Func("stream", "ok or hang", func(v string) error { streamMode.Store(v); return nil })
	verbose := flag.Bool("v", false, "log to stderr")
	flag.Parse()

	opts := &server.Options{PingInterval: *ping, StreamMaxBytes: *streamMax, PollHold: *hold, ResumeWindow: *resume}
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
	hs := &http.Server{Handler: hostile(mux), ReadHeaderTimeout: 10 * time.Second, ConnState: conns.state}
	go func() { _ = hs.Serve(ln) }()
	fmt.Printf("listening http://%s/rt\n", ln.Addr())

	// Run until stdin closes: the test's end, however it ends.
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	_ = hs.Shutdown(ctx)
}

// The network failures asked for by the flags or the mode command.
var wsMode, streamMode atomic.Value

func init() {
	wsMode.Store("ok")
	streamMode.Store("ok")
}

// registry tracks the server's live connections by remote address, each with the session
// its last request belonged to, so that the cut command can drop them.
type registry struct {
	mu  sync.Mutex
	all map[string]*tracked
}

type tracked struct {
	conn net.Conn
	sid  string
}

var conns = &registry{all: map[string]*tracked{}}

// state is the http.Server's ConnState hook. Hijacked connections (WebSockets) stay in
// the registry until they close, which the server no longer reports: closing one twice is
// harmless and the test server lives as long as one test file.
func (g *registry) state(c net.Conn, s http.ConnState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch s {
	case http.StateNew:
		g.all[c.RemoteAddr().String()] = &tracked{conn: c}
	case http.StateClosed:
		delete(g.all, c.RemoteAddr().String())
	}
}

// label records that the connection from addr carries session sid.
func (g *registry) label(addr, sid string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t := g.all[addr]; t != nil {
		t.sid = sid
	}
}

// conn returns the connection from addr, or nil.
func (g *registry) conn(addr string) net.Conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t := g.all[addr]; t != nil {
		return t.conn
	}
	return nil
}

// cut closes every connection of session sid and returns how many it closed.
func (g *registry) cut(sid string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for addr, t := range g.all {
		if t.sid == sid {
			_ = t.conn.Close()
			delete(g.all, addr)
			n++
		}
	}
	return n
}

// hostile wraps next with the network failures the modes ask for.
func hostile(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sid := r.URL.Query().Get("ps_sid"); sid != "" {
			conns.label(r.RemoteAddr, sid)
		}
		upgrade := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
		wsMode, streamMode := wsMode.Load().(string), streamMode.Load().(string)
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
		case upgrade && wsMode == "flap":
			if c := conns.conn(r.RemoteAddr); c != nil {
				time.AfterFunc(300*time.Millisecond, func() { _ = c.Close() })
			}
			next.ServeHTTP(w, r)
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
	conns.label(s.Request().RemoteAddr, s.ID())
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
		case typ == polysock.Text && msg == "cut":
			conns.cut(s.ID())
		case typ == polysock.Text && strings.HasPrefix(msg, "mode:"):
			name, mode, _ := strings.Cut(msg[len("mode:"):], "=")
			if name == "websocket" {
				wsMode.Store(mode)
			} else {
				streamMode.Store(mode)
			}
			_ = s.Write(ctx, polysock.Text, []byte("ok"))
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
