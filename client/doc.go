// Package client is the Go client of polysock: it opens one message session with a
// polysock server and gives ordered, exactly-once delivery of text and binary messages in
// both directions, with the close semantics of WebSocket.
//
// Dial opens a session; Conn.Read returns messages in order; Conn.Write queues one (it is
// safe for concurrent use); Conn.Close runs the polysock close handshake. Once the session
// is over, Read returns the *polysock.CloseError that says how it ended, and Write and
// Close return errors wrapping it.
//
// A session travels on one carrier at a time, of one of three transports (PROTOCOL.md
// section 8): "websocket", "stream" (a long-lived HTTP response read as it arrives, which
// the client reopens with ps_sid, ps_tok and ps_ack whenever the server recycles it) and
// "poll" (held HTTP GETs, one at a time, each acknowledging what the previous one
// brought); the two HTTP transports send client→server batches as POSTs, one in flight,
// each answered with the server's ACK. In automatic mode (Options.Transports nil) Dial
// tries websocket, then stream, then poll, moving on when an attempt fails to reach OPEN.
// Resuming a session on a new carrier after a lost connection is not implemented yet:
// when the carrier is lost, the session ends with close code 1006.
//
// Internally a Conn has two goroutines: a reader that decodes inbound batches, answers
// PINGs, applies ACKs and fills the bounded read queue, and a writer that drains the
// bounded outbound queue into batches no larger than the server's maxBody, piggybacking
// cumulative ACKs. Both end when the session ends; Close waits for them.
package client
