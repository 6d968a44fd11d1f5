// Package server is the polysock endpoint: an http.Handler that serves every transport
// (WebSocket, HTTP streaming, long-polling) at one URL and hands each client session to
// the application as a *Session with Read, Write and Close.
//
// A Session survives lost connections: the client resumes it on a new connection, on
// any transport, and every message is delivered exactly once and in order in both
// directions. Plain WebSocket clients that do not speak the polysock protocol are
// accepted at the same URL as raw sessions (one WebSocket message per message, no
// resume).
//
// Server.Publish and Session.Subscribe give rooms (pub/sub topics) on an Options.Broker:
// in memory by default, or broker/redis, which also makes the server one node of a
// cluster behind any load balancer without sticky sessions (docs/SCALING.md).
//
// Server.SockJSHandler mounts a SockJS endpoint beside the native one, so existing
// sockjs-client pages reach the same handler: their Sessions report Transport() ==
// "sockjs", are text only (a binary Write fails with ErrTextOnly) and have no resume.
// docs/SOCKJS.md lists where the endpoint still departs from the SockJS protocol.
//
// Concurrency: Session.Write, Read and Close are safe for concurrent use. Each session
// has at most one writer goroutine, started when there is something to send and gone
// when idle; every queue is bounded (Options.OutboxBytes, Options.ReadQueue).
//
// Limits: every resource a client can make the server hold is bounded by an Options
// field with a safe default (message, batch and POST body size, outbox and replay bytes,
// sessions in total and per client address, POSTs in progress per session, poll and
// stream hold times, the handshake), and each breach has the close code or HTTP status
// listed in PROTOCOL.md sections 9 and 11. A session whose client does not keep up is
// closed with 4008 without slowing the others. The request line and headers are read by
// net/http before the Server sees them: serve it with an http.Server whose
// ReadHeaderTimeout is set (and without a WriteTimeout or ReadTimeout shorter than the
// poll and stream hold times).
//
// The wire protocol is specified in PROTOCOL.md at the repository root.
package server
