package chattest

import (
	"github.com/polysock/polysock"

	"github.com/polysock/polysock/server"
)

// Ready is the first message of every session, written once it is subscribed: messages
// published after the client reads it reach the session.
const Ready = "ready"

// Unsubscribe, sent by a client, unsubscribes its session from its room; the session
// answers Unsubscribed.
const (
	Unsubscribe  = "unsubscribe"
	Unsubscribed = "unsubscribed"
)

// Handler returns the chat handler for the server that srv returns (called once per
// session, so the handler can be made before the server). The session subscribes to the
// topic of its opening request's "room" parameter ("lobby" when absent), writes Ready,
// then publishes every message it reads to that room, in order, until it ends. A failed
// subscription closes the session with 4500, a failed publication with 4501.
func Handler(srv func() *server.Server) func(*server.Session) {
	return func(s *server.Session) {
		ctx := s.Context()
		room := s.Request().URL.Query().Get("room")
		if room == "" {
			room = "lobby"
		}
		if err := s.Subscribe(ctx, room); err != nil {
			_ = s.Close(4500, "subscribe failed")
			return
		}
		if s.Write(ctx, polysock.Text, []byte(Ready)) != nil {
			return
		}
		for {
			typ, data, err := s.Read(ctx)
			if err != nil {
				return
			}
			if string(data) == Unsubscribe {
				s.Unsubscribe(room)
				_ = s.Write(ctx, polysock.Text, []byte(Unsubscribed))
				continue
			}
			if err := srv().Publish(ctx, room, typ, data); err != nil {
				_ = s.Close(4501, "publish failed")
				return
			}
		}
	}
}
