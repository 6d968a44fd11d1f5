// Package framers holds the pluggable framings of the comparative benchmarks: one
// loadgen.Framer per target (a server kind and a transport), each speaking that server's
// wire protocol directly over gorilla/websocket or net/http. polysock is measured twice on
// WebSocket: with a lean framer like the others' (the server's cost, compared with the
// field) and through its Go client (package client; what a Go user of polysock runs,
// with its batching goroutines, replay buffer and resume machinery). Its HTTP transports
// go through the Go client only.
//
//   - raw/websocket: one WebSocket text frame per message (the reference).
//   - polysock-lean/websocket: the polysock binary form over gorilla at /ps?ps_v=1: OPEN,
//     one batch of TEXT frames per Send (led by an ACK when one is due), cumulative ACKs
//     at least every 64 messages or 100 ms, PINGs answered, CLOSE 1000 on Close.
//   - polysock/{websocket,stream,poll}: client.Dial with one transport.
//   - sockjs/{websocket,xhr-streaming,xhr-polling}: the SockJS framing ("o", "h",
//     "a[…]", "c[…]") of igm/sockjs-go under /sockjs; messages go out as one JSON array
//     per Send (one WebSocket message or one xhr_send POST).
//   - socketio/{websocket,polling}: Engine.IO v4 / Socket.IO v5 ("0{…}" open, "40"
//     connect, "42[\"echo\",…]" events, "2"/"3" ping/pong, "\x1e"-separated polling
//     payloads), as socket.io-client sends them: one WebSocket frame per packet, one POST
//     of all packets of a Send on polling.
//   - centrifuge/websocket: the Centrifuge JSON protocol: a connect command, then one RPC
//     command per message ("rpc":{"data":…}), newline-delimited in one WebSocket message
//     per Send; echoes are RPC replies and broadcasts are pushes of the server-side
//     subscription "bench". Pings ("{}") are answered with "{}".
//
// All returns are verified by loadgen's Checker, not here.
package framers

import (
	"strings"

	"github.com/polysock/polysock/bench/loadgen"
)

// All returns every framer, the reference (raw/websocket) first.
func All() []loadgen.Framer {
	return []loadgen.Framer{
		Raw{},
		PolysockLean{}, Polysock("websocket"), Polysock("stream"), Polysock("poll"),
		SockJSWebSocket{}, SockJSXHR{Streaming: true}, SockJSXHR{},
		SocketIO{}, SocketIO{Polling: true},
		Centrifuge{},
	}
}

// Server returns the server kind a target runs against: the part of its name before '/'
// ("raw", "polysock", "sockjs", "socketio", "centrifuge"), without a "-lean" suffix
// (polysock-lean/websocket runs against the polysock server).
func Server(name string) string {
	kind, _, _ := strings.Cut(name, "/")
	return strings.TrimSuffix(kind, "-lean")
}

// wsURL turns base ("http://host:port") into a WebSocket URL with path.
func wsURL(base, path string) string {
	return "ws" + strings.TrimPrefix(base, "http") + path
}
