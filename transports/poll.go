package transports

import (
	"math"
	"net/http"
	"time"

	"github.com/polysock/polysock/internal/wire"
)

// Poll is the carrier of the poll transport (PROTOCOL.md section 8.3): one held GET
// response that carries one batch, every frame queued for the client, with a
// Content-Length. A poll the server has nothing for is ended with End, which answers an
// empty 200.
//
// Send is called by one goroutine at a time (the session's writer); CloseWith and End may
// be called concurrently with it.
type Poll struct{ response }

// NewPoll prepares w as a poll response in form enc (EncodingBinary or EncodingText) and
// returns its carrier. It sets the headers but writes nothing. writeTimeout bounds the
// write (0: no bound).
func NewPoll(w http.ResponseWriter, enc Encoding, writeTimeout time.Duration) *Poll {
	p := &Poll{}
	p.init(w, enc, writeTimeout)
	p.oneBatch = true
	return p
}

// Transport names the carrier's transport.
func (*Poll) Transport() string { return wire.TransportPoll }

// BatchLimit is the most data bytes the session's writer puts in one batch for this
// carrier: no limit, as a poll answers with every queued frame at once (the session's
// outbox bound limits it).
func (*Poll) BatchLimit() int { return math.MaxInt }
