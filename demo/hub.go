package main

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/server"
)

// hub relays every message to every connected session, with who sent it and over which
// transport. Text messages are JSON objects from the page; binary messages are passed on
// untouched (images).
type hub struct {
	mu       sync.Mutex
	sessions map[*server.Session]bool
}

func newHub() *hub { return &hub{sessions: map[*server.Session]bool{}} }

type event struct {
	Kind      string `json:"kind"` // "hello" (to the joining session only), "join", "leave", "msg"
	From      string `json:"from"`
	Transport string `json:"transport"`
	Text      string `json:"text,omitempty"`
	Users     int    `json:"users"`
}

func (h *hub) serve(s *server.Session) {
	h.mu.Lock()
	h.sessions[s] = true
	h.mu.Unlock()
	hello, _ := json.Marshal(event{Kind: "hello", From: s.ID()[:6], Transport: s.Transport()})
	_ = s.Write(context.Background(), polysock.Text, hello)
	h.broadcastEvent(event{Kind: "join", From: s.ID()[:6], Transport: s.Transport()})
	defer func() {
		h.mu.Lock()
		delete(h.sessions, s)
		h.mu.Unlock()
		h.broadcastEvent(event{Kind: "leave", From: s.ID()[:6], Transport: s.Transport()})
	}()
	for {
		typ, data, err := s.Read(context.Background())
		if err != nil {
			return
		}
		if typ == polysock.Binary {
			h.broadcast(polysock.Binary, data)
			continue
		}
		h.broadcastEvent(event{Kind: "msg", From: s.ID()[:6], Transport: s.Transport(), Text: string(data)})
	}
}

func (h *hub) broadcastEvent(e event) {
	h.mu.Lock()
	e.Users = len(h.sessions)
	h.mu.Unlock()
	b, _ := json.Marshal(e)
	h.broadcast(polysock.Text, b)
}

// broadcast writes to every session. A session that cannot keep up is closed by its own
// outbox bound (4008) and leaves; the others are not held back.
func (h *hub) broadcast(typ polysock.MessageType, data []byte) {
	h.mu.Lock()
	all := make([]*server.Session, 0, len(h.sessions))
	for s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		_ = s.Write(context.Background(), typ, data)
	}
}
