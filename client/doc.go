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
//
// A session outlives its carriers. When the carrier is lost (a cut connection, a read or
// write error, nothing heard for 2×ping + Options.LivenessGrace, or a WebSocket close
// that PROTOCOL.md section 8.1 calls a carrier loss: 1000 or 1001 without a CLOSE
// exchange, 1006, 4005), the Conn resumes the session on a new carrier: the same
// transport first, the next one of Options.Transports after two failed attempts in a
// row, under exponential backoff with full jitter (Options.ReconnectMin, ReconnectMax,
// ReconnectAttempts). The new carrier's request carries ps_sid, ps_tok and ps_ack; the
// server's OPEN (or, on poll, the ACK answering an empty POST) says what it accepted, the
// client sends every later message again and both sides drop duplicates, so every message
// is delivered exactly once and in order. Meanwhile Read waits and Write queues. When the
// server no longer knows the session (its resume window passed) it answers 4004 and the
// Conn ends with that CloseError: a gap is never passed over silently. Conn.SwitchTransport
// moves a live session to another transport the same way, and Options.OnTransportChange
// reports every change of transport.
//
// A session on "stream" or "poll" whose Options.Transports allow "websocket" probes
// WebSocket in the background and moves onto it the same way once a probe reaches the
// server; a failed probe leaves the current carrier untouched. After two WebSockets in a
// row failed or died within 10 s, the Conn stays off WebSocket for Options.UpgradeHold.
//
// Internally a Conn has two goroutines: a reader that decodes inbound batches, answers
// PINGs, applies ACKs and fills the bounded read queue, and a writer that drains the
// bounded outbound queue into batches no larger than the server's maxBody, piggybacking
// cumulative ACKs; a third, the upgrader, probes WebSocket when the session may upgrade.
// All end when the session ends; Close waits for them.
package client
