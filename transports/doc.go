// Package transports holds the HTTP and WebSocket mechanics of polysock carriers: how
// batches of frames are written to and read from a WebSocket connection or an HTTP
// response, the headers every response needs, and the shape of error answers.
//
// It holds no session policy: package server decides which carrier a session uses,
// what goes into each batch and when a carrier ends. Every carrier type has the same
// shape: Send writes one batch of frames, and the server reads inbound batches from it.
// Send is called by one goroutine at a time (the session's writer). The SockJS carrier
// (sockjs*.go) wraps igm/sockjs-go and fixes the places where it departs from the SockJS
// protocol.
package transports
