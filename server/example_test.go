package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/server"
)

// An echo server mounted at /rt. The client here is a plain WebSocket client (it does
// not speak the polysock protocol), so it gets a raw session: one WebSocket message per
// message. Browsers using polysock.js and the Go client reach the same handler on every
// transport.
func ExampleNew() {
	srv := server.New(func(s *server.Session) {
		for {
			typ, data, err := s.Read(s.Context())
			if err != nil {
				return // the session ended; err is its *polysock.CloseError
			}
			if err := s.Write(s.Context(), typ, data); err != nil {
				return
			}
		}
	}, nil)
	mux := http.NewServeMux()
	mux.Handle("/rt", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer shutdown(srv)

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/rt", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.Close()
	_ = ws.WriteMessage(websocket.TextMessage, []byte("hello"))
	typ, msg, _ := ws.ReadMessage()
	fmt.Println(typ == websocket.TextMessage, string(msg))
	_ = ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	typ, msg, _ = ws.ReadMessage()
	fmt.Println(typ == websocket.BinaryMessage, msg)
	// Output:
	// true hello
	// true [1 2 3]
}

// Write queues a message and returns at once; messages from any number of goroutines
// arrive in the order each goroutine wrote them. The opening request (without the
// protocol's own parameters) tells the handler who the client is.
func ExampleSession_Write() {
	srv := server.New(func(s *server.Session) {
		name := s.Request().URL.Query().Get("name")
		_ = s.Write(s.Context(), polysock.Text, []byte("welcome, "+name))
		_ = s.Write(s.Context(), polysock.Binary, []byte{0xca, 0xfe})
		_ = s.Close(polysock.CloseNormal, "that is all")
	}, nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/?name=ada", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.Close()
	for {
		_, msg, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			fmt.Printf("closed: %d %s\n", ce.Code, ce.Text)
			return
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%q\n", msg)
	}
	// Output:
	// "welcome, ada"
	// "\xca\xfe"
	// closed: 1000 that is all
}

// Shutdown closes every session with 1012 (service restart), so clients reconnect
// elsewhere, and returns once the sessions ended and their handlers returned.
func ExampleServer_Shutdown() {
	started, ended := make(chan struct{}), make(chan error, 1)
	srv := server.New(func(s *server.Session) {
		close(started)
		_, _, err := s.Read(context.Background())
		ended <- err
	}, nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.Close()
	<-started // a session whose opening races with Shutdown is refused (1012) before its handler runs

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	_, _, err = ws.ReadMessage() // gorilla answers the close frame
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		fmt.Println("client:", ce.Code, ce.Text)
	}
	fmt.Println("handler:", <-ended)
	fmt.Println("shutdown:", <-done)
	// Output:
	// client: 1012 server shutting down
	// handler: polysock: session closed with code 1012: server shutting down
	// shutdown: <nil>
}

// Rooms with Publish and Subscribe: each session subscribes to the room its opening
// request names, and the handler publishes what it reads to that room. With a cluster
// broker (Options.Broker, broker/redis) the same code reaches the room's sessions on every
// node.
func ExampleServer_Publish() {
	var srv *server.Server
	srv = server.New(func(s *server.Session) {
		room := s.Request().URL.Query().Get("room")
		if err := s.Subscribe(s.Context(), room); err != nil {
			return // the session ended
		}
		_ = s.Write(s.Context(), polysock.Text, []byte("joined "+room))
		for {
			typ, data, err := s.Read(s.Context())
			if err != nil {
				return // the session ended; its subscriptions ended with it
			}
			_ = srv.Publish(s.Context(), room, typ, data)
		}
	}, nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)

	ws := "ws" + strings.TrimPrefix(hs.URL, "http")
	ada, _, err := websocket.DefaultDialer.Dial(ws+"/?room=lobby", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ada.Close()
	bob, _, err := websocket.DefaultDialer.Dial(ws+"/?room=lobby", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bob.Close()
	for _, c := range []*websocket.Conn{ada, bob} {
		_, msg, _ := c.ReadMessage()
		fmt.Println(string(msg))
	}
	_ = ada.WriteMessage(websocket.TextMessage, []byte("hi from ada"))
	for _, c := range []*websocket.Conn{ada, bob} {
		_, msg, _ := c.ReadMessage()
		fmt.Println(string(msg))
	}
	// Output:
	// joined lobby
	// joined lobby
	// hi from ada
	// hi from ada
}

func shutdown(srv *server.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}
