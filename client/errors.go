package client

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
)

// Errors returned by Conn methods, possibly wrapped; test for them with errors.Is.
var (
	// ErrMessageTooBig is returned by Write for a message larger than the server accepts
	// (its OPEN maxMessage, or a frame that would not fit in its maxBody). The session
	// stays open.
	ErrMessageTooBig = errors.New("message too big for the server")
	// ErrBufferFull is returned by Write for a message that does not fit in the replay
	// buffer even when it is empty (Options.ReplayBuffer). The session stays open.
	ErrBufferFull = errors.New("message larger than the replay buffer")
	// ErrClosing is returned by Write once Close has been called or the server's CLOSE has
	// arrived, before the session has ended.
	ErrClosing = errors.New("session is closing")
)

// protocolError is a breach of PROTOCOL.md found in what the server sent. The session
// ends with CLOSE code and reason.
type protocolError struct {
	code   uint16
	reason string
}

func (e *protocolError) Error() string {
	return fmt.Sprintf("protocol error %d: %s", e.code, e.reason)
}

func protoErr(code uint16, format string, args ...any) *protocolError {
	return &protocolError{code: code, reason: truncateReason(fmt.Sprintf(format, args...))}
}

// decodeError maps a wire decoding error to the close code PROTOCOL.md assigns.
func decodeError(err error) *protocolError {
	if errors.Is(err, wire.ErrInvalidUTF8) {
		return protoErr(wire.CloseInvalidPayload, "%v", err)
	}
	return protoErr(wire.CloseProtocolError, "%v", err)
}

// truncateReason cuts s to a valid close reason: at most wire.MaxReasonBytes of UTF-8.
func truncateReason(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= wire.MaxReasonBytes {
		return s
	}
	n := wire.MaxReasonBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// closeOf returns the *polysock.CloseError in err's chain, or nil.
func closeOf(err error) *polysock.CloseError {
	var ce *polysock.CloseError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

// handshakeError describes an HTTP answer that refused a carrier request. When the server
// named a close code (X-PolySock-Close, PROTOCOL.md section 9.1), or the status is 403
// (a refused Origin, 1008), the error wraps a *polysock.CloseError with that code.
func handshakeError(resp *http.Response) error {
	status := fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	var body []byte
	if resp.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, 1024))
	}
	code := 0
	if h := resp.Header.Get(wire.HeaderClose); h != "" {
		if n, err := strconv.Atoi(h); err == nil && n >= 1000 && n <= 4999 {
			code = n
		}
	}
	if code == 0 && resp.StatusCode == http.StatusForbidden {
		code = int(wire.ClosePolicyViolation)
	}
	text := strings.TrimSpace(string(body))
	if code == 0 {
		if text == "" {
			return fmt.Errorf("server answered %s", status)
		}
		return fmt.Errorf("server answered %s: %s", status, truncateReason(text))
	}
	// The body is "<code> <reason>\n" (PROTOCOL.md section 9.1).
	reason := strings.TrimPrefix(text, strconv.Itoa(code)+" ")
	if reason == strconv.Itoa(code) {
		reason = ""
	}
	return fmt.Errorf("server answered %s: %w", status,
		&polysock.CloseError{Code: code, Reason: truncateReason(reason)})
}
