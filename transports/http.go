package transports

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polysock/polysock/internal/wire"
)

// This file holds what every HTTP carrier shares (PROTOCOL.md sections 4.3, 8.2–8.4 and
// 9.1): body encodings, caching headers, error answers and the response core of stream
// and poll carriers. stream.go and poll.go hold only what differs between the two.

// Encoding is the form of an HTTP body: the ps_e parameter of a GET, or the Content-Type
// of a POST.
type Encoding uint8

const (
	// EncodingBinary is application/octet-stream: binary-form frames back to back.
	EncodingBinary Encoding = iota
	// EncodingText is text/plain; charset=utf-8: one text-form line per frame.
	EncodingText
	// EncodingSSE is text/event-stream: one event per batch, one data line per frame.
	// Streams only.
	EncodingSSE
)

// ParseEncoding maps a ps_e value to an Encoding: "bin" or "" (the default), "text", and
// "sse" when stream is true. ok is false for anything else.
func ParseEncoding(value string, stream bool) (e Encoding, ok bool) {
	switch value {
	case "", wire.EncodingBinary:
		return EncodingBinary, true
	case wire.EncodingText:
		return EncodingText, true
	case wire.EncodingSSE:
		return EncodingSSE, stream
	}
	return 0, false
}

// ContentType is the Content-Type of a body in form e.
func (e Encoding) ContentType() string {
	switch e {
	case EncodingText:
		return wire.ContentTypeText
	case EncodingSSE:
		return wire.ContentTypeSSE
	}
	return wire.ContentTypeBinary
}

// AppendBatch appends frames as one batch in form e (PROTOCOL.md section 4.3): frames
// back to back, lines ending in LF, or one SSE event holding a "data: " line per frame.
func AppendBatch(dst []byte, e Encoding, frames []wire.Frame) []byte {
	for i := range frames {
		switch e {
		case EncodingBinary:
			dst = wire.AppendBinary(dst, &frames[i])
		case EncodingText:
			dst = append(wire.AppendText(dst, &frames[i]), '\n')
		case EncodingSSE:
			dst = append(dst, "data: "...)
			dst = append(wire.AppendText(dst, &frames[i]), '\n')
		}
	}
	if e == EncodingSSE {
		dst = append(dst, '\n')
	}
	return dst
}

// NoStore sets the caching headers every polysock response carries.
func NoStore(h http.Header) {
	h["Cache-Control"] = valNoStore
	h["Pragma"] = valNoCache
}

// Header values shared by all responses, which saves an allocation each on the poll
// path. Sharing is safe: net/http only reads them, and Set or Add on the same header
// replace the slice or copy it (its capacity is its length).
var (
	valNoStore     = []string{"no-store, no-transform"}
	valNoCache     = []string{"no-cache"}
	valNoSniff     = []string{"nosniff"}
	valContentType = [...][]string{
		EncodingBinary: {wire.ContentTypeBinary},
		EncodingText:   {wire.ContentTypeText},
		EncodingSSE:    {wire.ContentTypeSSE},
	}
)

// setContentType sets the Content-Type of a body in form e.
func setContentType(h http.Header, e Encoding) { h["Content-Type"] = valContentType[e] }

// WriteError writes a polysock HTTP error answer (PROTOCOL.md section 9.1): status, the
// close code in X-PolySock-Close and a body of "<code> <reason>\n".
func WriteError(w http.ResponseWriter, status int, code uint16, reason string) {
	h := errorHeaders(w, code, wire.ContentTypeText)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(strconv.Itoa(int(code)) + " " + reason + "\n"))
}

// WriteErrorAs writes the error answer of a request whose body would have had form e.
// EventSource cannot read a non-200 response, so for EncodingSSE it answers 200 with one
// event holding the CLOSE frame (PROTOCOL.md section 9.1); other forms get WriteError.
func WriteErrorAs(w http.ResponseWriter, e Encoding, status int, code uint16, reason string) {
	if e != EncodingSSE {
		WriteError(w, status, code, reason)
		return
	}
	errorHeaders(w, code, wire.ContentTypeSSE)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(AppendBatch(nil, EncodingSSE, []wire.Frame{closeFrame(code, reason)}))
}

func errorHeaders(w http.ResponseWriter, code uint16, contentType string) http.Header {
	h := w.Header()
	NoStore(h)
	h.Del("Content-Length")
	h.Set("Content-Type", contentType)
	h.Set(wire.HeaderClose, strconv.Itoa(int(code)))
	if code == wire.CloseUnsupportedVersion {
		h.Set(wire.HeaderVersion, strconv.Itoa(wire.Version))
	}
	return h
}

// WriteMethodNotAllowed answers a request whose method the endpoint does not serve: 405
// with an Allow header (PROTOCOL.md section 9.1).
func WriteMethodNotAllowed(w http.ResponseWriter) {
	w.Header().Set("Allow", AllowedMethods)
	WriteError(w, http.StatusMethodNotAllowed, wire.CloseBadRequest, "method not allowed")
}

// closeFrame is a CLOSE frame with code and a reason cut to the protocol's limit.
func closeFrame(code uint16, reason string) wire.Frame {
	if len(reason) > wire.MaxReasonBytes {
		reason = strings.ToValidUTF8(reason[:wire.MaxReasonBytes], "")
	}
	return wire.Frame{Type: wire.TypeClose, Code: code, Data: []byte(reason)}
}

// ErrEnded is returned by Send on an HTTP carrier whose response has ended.
var ErrEnded = errors.New("transports: response has ended")

// bufPool recycles the buffers batches are encoded into. Buffers above maxPooledBuf are
// left to the garbage collector, so a burst of large batches does not stay in memory.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledBuf = 256 << 10

// response is the core of an HTTP carrier, shared by Stream and Poll: a response body
// written by the session's writer goroutine (Send), closed with a CLOSE frame by any
// goroutine (CloseWith), and ended exactly once. Its mutex makes Send, CloseWith and End
// safe to call concurrently; once ended, nothing more is written, so the request's
// handler may return.
type response struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	enc      Encoding
	timeout  time.Duration // bound of each write; 0: none
	prelude  []byte        // written before the first batch (streams); shared, read-only
	oneBatch bool          // the response is one batch with a Content-Length (polls)
	limit    int64         // the response ends after the batch that reaches it (streams)
	done     chan struct{} // closed when the response ends

	mu      sync.Mutex
	started bool
	written int64
	ended   bool
}

func (r *response) init(w http.ResponseWriter, enc Encoding, writeTimeout time.Duration) {
	r.w, r.rc, r.enc, r.timeout = w, http.NewResponseController(w), enc, writeTimeout
	r.done = make(chan struct{})
	h := w.Header()
	NoStore(h)
	setContentType(h, enc)
	h["X-Content-Type-Options"] = valNoSniff // no buffering to sniff the type
}

// Send writes frames as one batch: one Write and, on a stream, one Flush. The response
// ends after it when it is a poll response or when a stream passed its byte limit; Send
// then still returns nil, and Finished reports true.
func (r *response) Send(frames []wire.Frame) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sendLocked(frames)
}

// CloseWith ends the response with a batch holding only a CLOSE frame with code and
// reason. It does nothing when the response has already ended.
func (r *response) CloseWith(code uint16, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.sendLocked([]wire.Frame{closeFrame(code, reason)})
	r.endLocked()
}

// End ends the response without writing more. Once End returns, Send and CloseWith never
// touch the response again, so the request's handler may return. A poll response ended
// before its batch is an empty 200.
func (r *response) End() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended && r.timeout > 0 {
		// The handler's return finishes the response (headers, final chunk): give that
		// write a fresh deadline, as a long hold may have outlived the previous one.
		_ = r.rc.SetWriteDeadline(time.Now().Add(r.timeout))
	}
	r.endLocked()
}

// Done is closed when the response has ended: after its last batch, CloseWith, End, or a
// failed write.
func (r *response) Done() <-chan struct{} { return r.done }

// Finished reports whether the response has ended. The session's writer asks after each
// Send and drops the carrier when it has.
func (r *response) Finished() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended
}

func (r *response) endLocked() {
	if !r.ended {
		r.ended = true
		close(r.done)
	}
}

func (r *response) sendLocked(frames []wire.Frame) error {
	if r.ended {
		return ErrEnded
	}
	bp := bufPool.Get().(*[]byte)
	b := (*bp)[:0]
	if !r.started {
		b = append(b, r.prelude...)
		r.started = true
	}
	b = AppendBatch(b, r.enc, frames)
	err := r.writeLocked(b)
	if cap(b) <= maxPooledBuf {
		*bp = b[:0]
		bufPool.Put(bp)
	}
	if err != nil || r.oneBatch || r.written >= r.limit {
		r.endLocked()
	}
	return err
}

func (r *response) writeLocked(b []byte) error {
	if r.timeout > 0 {
		if err := r.rc.SetWriteDeadline(time.Now().Add(r.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return fmt.Errorf("failed to set write deadline: %w", err)
		}
	}
	if r.oneBatch {
		r.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	}
	n, err := r.w.Write(b)
	r.written += int64(n)
	if err != nil {
		return fmt.Errorf("failed to write response: %w", err)
	}
	if !r.oneBatch {
		if err := r.rc.Flush(); err != nil {
			return fmt.Errorf("failed to flush response: %w", err)
		}
	}
	return nil
}
