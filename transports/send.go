package transports

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/polysock/polysock/internal/wire"
)

// Errors of ReadPost. Each maps to one HTTP answer of PROTOCOL.md section 9.1.
var (
	// ErrUnsupportedType: the Content-Type is neither form's (415, close code 1003).
	ErrUnsupportedType = errors.New("transports: POST Content-Type is neither application/octet-stream nor text/plain; charset=utf-8")
	// ErrBodyTooBig: the body is longer than the limit (413, close code 1009).
	ErrBodyTooBig = errors.New("transports: POST body above the limit")
	// ErrBodyCut: the body ended before its Content-Length, or reading it failed; nothing
	// of it may be processed.
	ErrBodyCut = errors.New("transports: POST body cut short")
)

// PostForm returns the form of a POST body from its Content-Type:
// application/octet-stream is EncodingBinary, text/plain with no charset or charset=utf-8
// is EncodingText. Anything else, including no Content-Type, is ErrUnsupportedType.
func PostForm(r *http.Request) (Encoding, error) {
	ct := r.Header.Get("Content-Type")
	switch ct { // the common spellings, without parsing
	case wire.ContentTypeBinary:
		return EncodingBinary, nil
	case wire.ContentTypeText:
		return EncodingText, nil
	}
	typ, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, ErrUnsupportedType
	}
	switch {
	case typ == "application/octet-stream" && len(params) == 0:
		return EncodingBinary, nil
	case typ == "text/plain" && (len(params) == 0 || len(params) == 1 && strings.EqualFold(params["charset"], "utf-8")):
		return EncodingText, nil
	}
	return 0, ErrUnsupportedType
}

// ReadPost reads the body of a POST, one batch of at most limit bytes. The returned
// buffer is fresh; the caller may keep slices of it. A body above limit is
// ErrBodyTooBig (the connection is then closed after the answer, as the rest of the body
// is not read); a body that ends early or cannot be read is ErrBodyCut.
func ReadPost(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, ErrBodyTooBig
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	var buf []byte
	var err error
	if r.ContentLength >= 0 {
		buf = make([]byte, r.ContentLength)
		_, err = io.ReadFull(body, buf)
	} else {
		buf, err = io.ReadAll(body)
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return buf, nil
	case errors.As(err, &tooBig):
		return nil, ErrBodyTooBig
	}
	return nil, fmt.Errorf("%w: %v", ErrBodyCut, err)
}

// WriteAck answers a POST: 200 with a body of one ACK frame carrying count, in form e
// (PROTOCOL.md section 8.4).
func WriteAck(w http.ResponseWriter, e Encoding, count uint64) {
	var buf [16]byte
	body := AppendBatch(buf[:0], e, []wire.Frame{{Type: wire.TypeAck, Seq: count}})
	h := w.Header()
	NoStore(h)
	setContentType(h, e)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
