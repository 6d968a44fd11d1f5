package transports

import (
	"net/http"
	"strings"
	"time"

	"github.com/polysock/polysock/internal/wire"
)

// Stream is the carrier of the stream transport (PROTOCOL.md section 8.2): one long-lived
// GET response carrying batches from server to client. The body begins with a prelude
// that pushes buffering proxies to pass the response on; each batch is one Write and one
// Flush; after its byte limit the response ends with the batch in progress, and the
// client continues on a new request.
//
// Send is called by one goroutine at a time (the session's writer); CloseWith and End may
// be called concurrently with it.
type Stream struct{ response }

// NewStream prepares w as a stream response in form enc (any Encoding) and returns its
// carrier. It sets the headers but writes nothing: the prelude goes out with the first
// batch. The response ends after the batch that brings its body to maxBytes bytes (0
// means after every batch). writeTimeout bounds each write (0: no bound).
func NewStream(w http.ResponseWriter, enc Encoding, maxBytes int64, writeTimeout time.Duration) *Stream {
	s := &Stream{}
	s.init(w, enc, writeTimeout)
	w.Header().Set("X-Accel-Buffering", "no")
	s.prelude = preludes[enc]
	s.limit = maxBytes
	return s
}

// Transport names the carrier's transport.
func (*Stream) Transport() string { return wire.TransportStream }

// preludes holds the prelude of each form, at least wire.PreludeSize bytes: one PAD frame
// (bin), one PAD line of spaces (text), or one SSE comment line of spaces then a blank
// line (sse).
var preludes = [...][]byte{
	EncodingBinary: AppendBatch(nil, EncodingBinary, []wire.Frame{{Type: wire.TypePad, Data: make([]byte, wire.PreludeSize)}}),
	EncodingText:   AppendBatch(nil, EncodingText, []wire.Frame{{Type: wire.TypePad, Data: make([]byte, wire.PreludeSize)}}),
	EncodingSSE:    []byte(":" + strings.Repeat(" ", wire.PreludeSize) + "\n\n"),
}

// Recycle makes the stream end after its next batch, or after the one being written;
// the client continues on a new request, as after the byte limit. The caller ends an
// idle stream at once with End.
func (s *Stream) Recycle() {
	s.mu.Lock()
	s.limit = 0
	s.mu.Unlock()
}
