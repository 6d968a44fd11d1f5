package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/server"
)

// The chat protocol, on top of polysock messages.
//
// Text messages are JSON objects with a "type". From the page: {"type":"hello","nick"}
// (first), {"type":"join","room"}, {"type":"leave","room"}, {"type":"msg","room","text"}.
// From the server: "welcome" (to the new user: its id and nick), "joined"/"left" (to the
// user: a room it entered or left), "msg" (a room's message, with who sent it), "sys" (a
// room's notices: who came and went), and "state" (to everyone: every user with its
// transport and rooms, and every room with its member count), sent again whenever any of
// it changes.
//
// Binary messages are images: a 2-byte big-endian header length, a JSON header, then the
// image bytes. The page sends {"room","name","mime"}; the server relays the same bytes to
// the room with "from" and "nick" added to the header.

// maxNick and maxText bound what one user can make the server store and relay.
const (
	maxNick = 24
	maxText = 2000
	maxRoom = 24
)

// defaultRooms always exist, even when nobody is in them.
var defaultRooms = []string{"lobby", "random", "help"}

// hub holds the users and rooms of this node. Each user's handler goroutine reads its
// messages and relays them. A room is a pub/sub topic (roomTopic): its messages, notices
// and images are published on the server's broker, so with -redis they reach the room's
// members on every node; the user list and room counts ("state") are this node's.
// Session.Write only copies into the session's outbox, so writing under mu never waits
// for a network; Subscribe and Publish may (on Redis) and run outside mu.
type hub struct {
	srv   *server.Server // set once, before the first session
	mu    sync.Mutex
	users map[*user]bool
	rooms map[string]map[*user]bool
	seq   int
}

// roomTopic is the pub/sub topic of a room.
func roomTopic(room string) string { return "room:" + room }

// publishTimeout bounds a publication (a broker on Redis may be slow or down).
const publishTimeout = 5 * time.Second

// user is one chat session.
type user struct {
	s         *server.Session
	id        string
	nick      string
	transport string // as last reported in a state event
	rooms     map[string]bool
}

func newHub() *hub {
	h := &hub{users: map[*user]bool{}, rooms: map[string]map[*user]bool{}}
	for _, r := range defaultRooms {
		h.rooms[r] = map[*user]bool{}
	}
	return h
}

type inbound struct {
	Type string `json:"type"`
	Nick string `json:"nick"`
	Room string `json:"room"`
	Text string `json:"text"`
}

type userInfo struct {
	ID        string   `json:"id"`
	Nick      string   `json:"nick"`
	Transport string   `json:"transport"`
	Rooms     []string `json:"rooms"`
}

type roomInfo struct {
	Name  string `json:"name"`
	Users int    `json:"users"`
}

// serve is the polysock handler: one call per session, for as long as it lasts.
func (h *hub) serve(s *server.Session) {
	ctx := s.Context()
	typ, data, err := s.Read(ctx)
	if err != nil {
		return
	}
	var hello inbound
	if typ != polysock.Text || json.Unmarshal(data, &hello) != nil || hello.Type != "hello" {
		_ = s.Close(4400, "say hello first")
		return
	}
	u := h.add(s, hello.Nick)
	defer h.remove(u)
	for {
		typ, data, err := s.Read(ctx)
		if err != nil {
			return
		}
		if typ == polysock.Binary {
			h.image(u, data)
			continue
		}
		var m inbound
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		switch m.Type {
		case "join":
			h.join(u, m.Room)
		case "leave":
			h.leave(u, m.Room)
		case "msg":
			h.say(u, m.Room, m.Text)
		}
	}
}

// add registers a new user under a free variant of nick and welcomes it.
func (h *hub) add(s *server.Session, nick string) *user {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	nick = clean(nick, maxNick)
	if nick == "" {
		nick = fmt.Sprintf("guest%d", h.seq)
	}
	base := nick
	for n := 2; h.nickTaken(nick); n++ {
		nick = fmt.Sprintf("%s%d", base, n)
	}
	u := &user{s: s, id: s.ID()[len(s.ID())-8:], nick: nick, transport: s.Transport(), rooms: map[string]bool{}}
	h.users[u] = true
	h.send(u, map[string]any{"type": "welcome", "id": u.id, "nick": u.nick})
	h.stateLocked()
	return u
}

func (h *hub) nickTaken(nick string) bool {
	for u := range h.users {
		if strings.EqualFold(u.nick, nick) {
			return true
		}
	}
	return false
}

func (h *hub) remove(u *user) {
	h.mu.Lock()
	var left []string
	for r := range u.rooms {
		if h.leaveLocked(u, r) {
			left = append(left, r)
		}
	}
	delete(h.users, u)
	h.stateLocked()
	h.mu.Unlock()
	for _, r := range left {
		h.publish(r, map[string]any{"type": "sys", "room": r, "text": u.nick + " left", "ts": now()})
	}
}

// join subscribes u to room. Only u's handler goroutine joins and leaves for u.
func (h *hub) join(u *user, room string) {
	room = strings.ToLower(clean(room, maxRoom))
	h.mu.Lock()
	in := u.rooms[room]
	h.mu.Unlock()
	if room == "" || in {
		return
	}
	if u.s.Subscribe(u.s.Context(), roomTopic(room)) != nil {
		return // the session ended, or the broker failed (the session is closed then)
	}
	h.mu.Lock()
	if h.rooms[room] == nil {
		h.rooms[room] = map[*user]bool{}
	}
	h.rooms[room][u] = true
	u.rooms[room] = true
	h.send(u, map[string]any{"type": "joined", "room": room})
	h.stateLocked()
	h.mu.Unlock()
	h.publish(room, map[string]any{"type": "sys", "room": room, "text": u.nick + " joined", "ts": now()})
}

func (h *hub) leave(u *user, room string) {
	h.mu.Lock()
	left := h.leaveLocked(u, room)
	if left {
		h.stateLocked()
	}
	h.mu.Unlock()
	if left {
		u.s.Unsubscribe(roomTopic(room))
		h.publish(room, map[string]any{"type": "sys", "room": room, "text": u.nick + " left", "ts": now()})
	}
}

func (h *hub) leaveLocked(u *user, room string) bool {
	if !u.rooms[room] {
		return false
	}
	delete(u.rooms, room)
	delete(h.rooms[room], u)
	if len(h.rooms[room]) == 0 && !isDefault(room) {
		delete(h.rooms, room)
	}
	h.send(u, map[string]any{"type": "left", "room": room})
	return true
}

func (h *hub) say(u *user, room, text string) {
	text = strings.TrimSpace(text)
	if len(text) > maxText || !utf8.ValidString(text) || text == "" {
		return
	}
	h.mu.Lock()
	in := u.rooms[room]
	h.mu.Unlock()
	if in {
		h.publish(room, map[string]any{"type": "msg", "room": room, "from": u.id, "nick": u.nick,
			"transport": u.s.Transport(), "text": text, "ts": now()})
	}
}

// image relays an image message to its room with the sender added to its header.
func (h *hub) image(u *user, data []byte) {
	if len(data) < 2 || int(binary.BigEndian.Uint16(data))+2 > len(data) {
		return
	}
	n := int(binary.BigEndian.Uint16(data))
	var hdr map[string]any
	if json.Unmarshal(data[2:2+n], &hdr) != nil {
		return
	}
	room, _ := hdr["room"].(string)
	hdr["from"], hdr["nick"], hdr["ts"] = u.id, u.nick, now()
	out, _ := json.Marshal(hdr)
	if len(out) > 0xffff {
		return
	}
	msg := binary.BigEndian.AppendUint16(nil, uint16(len(out)))
	msg = append(append(msg, out...), data[2+n:]...)
	h.mu.Lock()
	in := u.rooms[room]
	h.mu.Unlock()
	if in {
		h.publishBytes(room, polysock.Binary, msg)
	}
}

// watchTransports sends the state again whenever a user's session moved to another
// transport (Session.Transport has no change notification; a poll is enough for a demo).
func (h *hub) watchTransports(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		changed := false
		for u := range h.users {
			if tr := u.s.Transport(); tr != u.transport {
				u.transport, changed = tr, true
			}
		}
		if changed {
			h.stateLocked()
		}
		h.mu.Unlock()
	}
}

// kick ends the session of the user called nick with close code 4401 and reason.
func (h *hub) kick(nick, reason string) error {
	h.mu.Lock()
	var target *user
	for u := range h.users {
		if strings.EqualFold(u.nick, nick) {
			target = u
		}
	}
	h.mu.Unlock()
	if target == nil {
		return errors.New("no such user")
	}
	go func() { _ = target.s.Close(4401, reason) }() // Close waits for the handshake
	return nil
}

// stateLocked sends every user the user list and the room list.
func (h *hub) stateLocked() {
	users := make([]userInfo, 0, len(h.users))
	for u := range h.users {
		u.transport = u.s.Transport()
		users = append(users, userInfo{ID: u.id, Nick: u.nick, Transport: u.transport, Rooms: sortedKeys(u.rooms)})
	}
	sort.Slice(users, func(i, j int) bool { return strings.ToLower(users[i].Nick) < strings.ToLower(users[j].Nick) })
	rooms := make([]roomInfo, 0, len(h.rooms))
	for _, name := range sortedKeys(h.rooms) {
		rooms = append(rooms, roomInfo{Name: name, Users: len(h.rooms[name])})
	}
	b, _ := json.Marshal(map[string]any{"type": "state", "users": users, "rooms": rooms})
	for u := range h.users {
		_ = u.s.Write(context.Background(), polysock.Text, b)
	}
}

// publish sends an event to the members of room, on every node.
func (h *hub) publish(room string, ev map[string]any) {
	b, _ := json.Marshal(ev)
	h.publishBytes(room, polysock.Text, b)
}

func (h *hub) publishBytes(room string, typ polysock.MessageType, b []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	_ = h.srv.Publish(ctx, roomTopic(room), typ, b) // the demo drops a message its broker refused
}

// send writes one event to one user. A failed Write means the session is over (or too
// slow: 4008); its handler then removes it.
func (h *hub) send(u *user, ev map[string]any) {
	b, _ := json.Marshal(ev)
	_ = u.s.Write(context.Background(), polysock.Text, b)
}

func clean(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if !utf8.ValidString(s) {
		return ""
	}
	if r := []rune(s); len(r) > max {
		s = string(r[:max])
	}
	return s
}

func isDefault(room string) bool {
	for _, r := range defaultRooms {
		if r == room {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func now() int64 { return time.Now().UnixMilli() }
