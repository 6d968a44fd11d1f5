package servers

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/centrifugal/centrifuge"
	"github.com/gorilla/websocket"
	"github.com/igm/sockjs-go/v3/sockjs"
	"github.com/polysock/polysock"
	"github.com/polysock/polysock/bench"
	"github.com/polysock/polysock/server"
)

// set is a set of connections under a lock.
type set[T comparable] struct {
	mu sync.Mutex
	m  map[T]struct{}
}

func (s *set[T]) add(t T) {
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[T]struct{})
	}
	s.m[t] = struct{}{}
	s.mu.Unlock()
}

func (s *set[T]) remove(t T) { s.mu.Lock(); delete(s.m, t); s.mu.Unlock() }

func (s *set[T]) list() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]T, 0, len(s.m))
	for t := range s.m {
		out = append(out, t)
	}
	return out
}

func (s *set[T]) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.m) }

// raw: the gorilla echo loop, with a write lock per connection for the broadcast.
type rawConn struct {
	c  *websocket.Conn
	mu sync.Mutex
}

type rawKind struct{ conns set[*rawConn] }

func (k *rawKind) handler() http.Handler {
	up := &websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		rc := &rawConn{c: c}
		k.conns.add(rc)
		defer func() { k.conns.remove(rc); c.Close() }()
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			rc.mu.Lock()
			err = c.WriteMessage(typ, data)
			rc.mu.Unlock()
			if err != nil {
				return
			}
		}
	})
	return mux
}

func (k *rawKind) broadcast(m []byte) {
	for _, rc := range k.conns.list() {
		rc.mu.Lock()
		_ = rc.c.WriteMessage(websocket.TextMessage, m)
		rc.mu.Unlock()
	}
}

func (k *rawKind) count() int { return k.conns.count() }

// polysock: server.New with defaults, echo handler; only MaxSessionsPerClient is raised,
// since every session of the load generator comes from 127.0.0.1 (the default of 1,000
// would refuse the rest of a 10,000-session scenario with 1013).
type polysockKind struct {
	sessions set[*server.Session]
	srv      *server.Server
}

func newPolysock() *polysockKind {
	k := &polysockKind{}
	k.srv = server.New(func(s *server.Session) {
		k.sessions.add(s)
		defer k.sessions.remove(s)
		bench.PolysockEcho(s)
	}, &server.Options{MaxSessionsPerClient: 1 << 20})
	return k
}

func (k *polysockKind) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/ps", k.srv)
	return mux
}

func (k *polysockKind) broadcast(m []byte) {
	for _, s := range k.sessions.list() {
		_ = s.Write(context.Background(), polysock.Text, m)
	}
}

func (k *polysockKind) count() int { return k.sessions.count() }

// sockjs: igm/sockjs-go with its default options.
type sockjsKind struct{ sessions set[sockjs.Session] }

func (k *sockjsKind) handler() http.Handler {
	return sockjs.NewHandler("/sockjs", sockjs.DefaultOptions, func(s sockjs.Session) {
		k.sessions.add(s)
		defer k.sessions.remove(s)
		for {
			m, err := s.Recv()
			if err != nil {
				return
			}
			if err := s.Send(m); err != nil {
				return
			}
		}
	})
}

func (k *sockjsKind) broadcast(m []byte) {
	s := string(m)
	for _, sess := range k.sessions.list() {
		_ = sess.Send(s)
	}
}

func (k *sockjsKind) count() int { return k.sessions.count() }

// centrifuge: a node with the in-memory broker.
type centrifugeKind struct {
	node    *centrifuge.Node
	clients set[*centrifuge.Client]
}

const centrifugeChannel = "bench"

func newCentrifuge() (*centrifugeKind, error) {
	node, err := centrifuge.New(centrifuge.Config{})
	if err != nil {
		return nil, err
	}
	k := &centrifugeKind{node: node}
	node.OnConnecting(func(context.Context, centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		return centrifuge.ConnectReply{
			Credentials:   &centrifuge.Credentials{UserID: ""},
			Subscriptions: map[string]centrifuge.SubscribeOptions{centrifugeChannel: {}},
		}, nil
	})
	node.OnConnect(func(c *centrifuge.Client) {
		k.clients.add(c)
		c.OnRPC(func(e centrifuge.RPCEvent, cb centrifuge.RPCCallback) {
			cb(centrifuge.RPCReply{Data: e.Data}, nil)
		})
		c.OnDisconnect(func(centrifuge.DisconnectEvent) { k.clients.remove(c) })
	})
	if err := node.Run(); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *centrifugeKind) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/connection/websocket", centrifuge.NewWebsocketHandler(k.node, centrifuge.WebsocketConfig{}))
	return mux
}

func (k *centrifugeKind) broadcast(m []byte) {
	data, _ := json.Marshal(string(m)) // strings always marshal
	_, _ = k.node.Publish(centrifugeChannel, data)
}

func (k *centrifugeKind) count() int { return k.clients.count() }
