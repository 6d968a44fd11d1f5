package server

import "github.com/polysock/polysock/internal/wire"

// carrier is one connection that carries a session's server→client frames: a WebSocket,
// a stream response, a held poll. Package transports implements it; the session's writer
// goroutine is the only caller of Send.
type carrier interface {
	// Transport names the carrier's transport.
	Transport() string
	// Send writes frames as one batch, or fails; a failed carrier is dropped.
	Send(frames []wire.Frame) error
	// CloseWith ends the carrier, telling the client code and reason where the carrier can.
	CloseWith(code uint16, reason string)
}

// finisher is implemented by carriers that can end after a batch: a poll response (after
// its one batch) and a stream response (after its byte limit). The writer drops such a
// carrier when Finished reports true after a Send.
type finisher interface{ Finished() bool }

// batchLimiter is implemented by carriers that take batches of another size than
// maxServerBatch data bytes: a poll response takes every queued frame at once.
type batchLimiter interface{ BatchLimit() int }
