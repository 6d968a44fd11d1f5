package bench

import (
	"net/http"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock/server"
)

// PolysockEcho is a polysock session handler that writes every message back to the client
// with its type. An idle session blocks in Session.Read. It returns when the session ends.
func PolysockEcho(s *server.Session) {
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

// RawEcho returns the reference server: the idiomatic gorilla/websocket echo, one
// goroutine per connection running a ReadMessage/WriteMessage loop, with the Upgrader's
// defaults (which reuse net/http's 4 KiB read and write buffers). onOpen and onClose,
// when not nil, are called after the upgrade and when the connection's loop ends.
func RawEcho(onOpen, onClose func()) http.Handler {
	up := &websocket.Upgrader{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		if onOpen != nil {
			onOpen()
		}
		if onClose != nil {
			defer onClose()
		}
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, data); err != nil {
				return
			}
		}
	})
}

// HelloWorld is the reference HTTP handler of the long-poll measurements: it answers
// every request with the 13 bytes "hello, world\n".
func HelloWorld(w http.ResponseWriter, _ *http.Request) {
	_, _ = w.Write([]byte("hello, world\n"))
}
