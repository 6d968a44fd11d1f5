package loadgen

import "context"

// Conn is one client connection (or session) of a target, as a Framer opened it.
//
// Send writes msgs in the order given, framed as the target's protocol frames them; a
// framer that can put several messages into one write (a JSON array, one POST, one
// batch) does so, which is what the burst scenario measures. Recv returns the next
// application message the server sent, in order, with the protocol's framing removed; it
// answers protocol heartbeats itself. Send and Recv may be called from two goroutines at
// once (one each). Close ends the connection and unblocks a pending Recv.
type Conn interface {
	Send(ctx context.Context, msgs ...[]byte) error
	Recv(ctx context.Context) ([]byte, error)
	Close() error
}

// Framer opens connections of one target: one server kind and one transport.
type Framer interface {
	// Name is the target's name in the results, e.g. "polysock/websocket".
	Name() string
	// Dial opens one connection to the server whose base URL is base
	// ("http://127.0.0.1:port"); it returns once the session is open (the protocol's
	// handshake is done), so that a message sent next is echoed.
	Dial(ctx context.Context, base string) (Conn, error)
}
