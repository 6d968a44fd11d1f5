// Package servers holds the echo servers of the comparative benchmarks, one per server
// kind, each with a broadcast to all its connections and a memory report:
//
//   - "raw": the idiomatic gorilla/websocket echo loop at /ws (the reference);
//   - "polysock": server.New with an echo handler at /ps (every transport), default
//     options but MaxSessionsPerClient (the generator is one client address);
//   - "sockjs": igm/sockjs-go v3 with sockjs.DefaultOptions echoing at /sockjs;
//   - "centrifuge": centrifugal/centrifuge (in-memory broker): JSON over WebSocket at
//     /connection/websocket, every connection subscribed server-side to "bench", every
//     RPC answered with its own data.
//
// New returns the handler of a kind, which also serves POST /publish?n=N&size=S (N
// messages of S bytes made by loadgen.Append with id loadgen.PublishID and the server's
// clock, handed to every open connection by a simple loop, in order, before the answer)
// and GET /mem (runtime.GC, debug.FreeOSMemory, then Mem as JSON). bench/cmd/benchserver
// serves one kind in its own process; the socket.io server is the Node program
// bench/socketio/server.mjs with the same two endpoints.
package servers
