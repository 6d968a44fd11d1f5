package transports

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/igm/sockjs-go/v3/sockjs"
)

// sockjsHandler wraps sockjs-go's handler with the protocol fixes.
type sockjsHandler struct {
	inner   *sockjs.Handler
	prefix  string
	maxBody int64
	etag    string        // quoted, over the rendered iframe page
	linger  time.Duration // the disconnect delay

	mu       sync.Mutex
	inflight map[string]int         // SockJS session id → receiving requests being served
	closed   map[string]*time.Timer // SockJS session id → the server closed it (expiry timer)
}

// remember notes that the server closed session id, for as long as sockjs-go may still
// know the session (it forgets it a disconnect delay after its last request).
func (h *sockjsHandler) remember(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed[id] != nil {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(h.linger+time.Second, func() {
		h.mu.Lock()
		if h.closed[id] == t {
			delete(h.closed, id)
		}
		h.mu.Unlock()
	})
	h.closed[id] = t
}

// track counts the receiving requests of session id being served.
func (h *sockjsHandler) track(id string, delta int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.inflight[id] += delta; h.inflight[id] <= 0 {
		delete(h.inflight, id)
	}
	if t := h.closed[id]; t != nil {
		t.Reset(h.linger + time.Second)
	}
}

// spurious2010 reports whether a "c[2010,...]" answer (another receiving request still
// attached) to a request of session id is wrong: no other receiving request of the
// session is being served, or the server closed the session (sockjs-go then ends the
// attached request at once, and every later one must get the close frame).
func (h *sockjsHandler) spurious2010(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inflight[id] <= 1 || h.closed[id] != nil
}

// maxAttachAttempts bounds serveReceiving's retries.
const maxAttachAttempts = 50

// serveReceiving serves a receiving request of session id (xhr, xhr_streaming,
// eventsource, htmlfile, jsonp; prelude says whether sockjs-go writes a prelude before
// attaching the request to the session).
//
// sockjs-go detaches a finished receiving request from its session in a goroutine of its
// own, so a client's next request (a poll right after a poll, a stream reopened after the
// response limit, any request after the close frame) can find the old one still attached
// and get "c[2010,"Another connection still open"]", which ends the client's session. When
// that answer is spurious (see spurious2010), it is not sent: the request is handed to
// sockjs-go again (without repeating the prelude or the headers already sent), after a
// pause, up to maxAttachAttempts times.
func (h *sockjsHandler) serveReceiving(w http.ResponseWriter, r *http.Request, id string, prelude bool) {
	h.track(id, 1)
	defer h.track(id, -1)
	snapshot := w.Header().Clone()
	sent := false // the status line went out
	for attempt := 1; ; attempt++ {
		sw := &sockjsWriter{ResponseWriter: w, escape: true, wroteHeader: sent}
		if attempt > 1 {
			if prelude {
				sw.skip = 1
			}
			if !sent { // forget the headers of the attempt that wrote nothing
				hd := w.Header()
				clear(hd)
				for k, v := range snapshot {
					hd[k] = v
				}
			}
		}
		if attempt < maxAttachAttempts {
			sw.retry = func() bool { return h.spurious2010(id) }
		}
		h.inner.ServeHTTP(sw, r)
		sent = sw.wroteHeader
		if !sw.swallowed || r.Context().Err() != nil {
			return
		}
		time.Sleep(time.Duration(min(attempt, 20)) * time.Millisecond)
	}
}

var (
	// sessionPath is a session URL below the prefix: /<server>/<session>/<transport>.
	sessionPath = regexp.MustCompile(`^/[^/.]+/([^/.]+)/([a-z_]+)$`)
	// iframePath is the iframe page: /iframe.html or a versioned /iframe-<version>.html.
	iframePath = regexp.MustCompile(`^/iframe(-[0-9a-z._-]*)?\.html$`)
	// validCallback matches acceptable htmlfile and jsonp callback names.
	validCallback = regexp.MustCompile(`^[a-zA-Z0-9_.]+$`)
)

func (h *sockjsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rel, ok := strings.CutPrefix(r.URL.Path, h.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	sw := &sockjsWriter{ResponseWriter: w}
	switch {
	case rel == "/info" && r.Method == http.MethodGet:
		h.serveInfo(w, r)
		return
	case strings.HasPrefix(rel, "/iframe"):
		if !iframePath.MatchString(rel) {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodGet {
			if etagMatches(r.Header.Get("If-None-Match"), h.etag) {
				hd := w.Header()
				hd.Set("Cache-Control", "public, max-age=31536000")
				hd.Set("Expires", expiresInAYear())
				hd.Set("ETag", h.etag)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			r = r.Clone(r.Context())
			r.Header.Del("If-None-Match") // sockjs-go's own ETag is not ours
			sw.etag = h.etag
		}
	case rel == "/websocket":
		sw.conn = sockjsConnConfig{maxMessage: h.maxBody}
	default:
		m := sessionPath.FindStringSubmatch(rel)
		if m == nil {
			break
		}
		switch transport := m[2]; transport {
		case "xhr", "xhr_streaming":
			if r.Method == http.MethodPost {
				h.serveReceiving(w, r, m[1], transport == "xhr_streaming")
				return
			}
		case "eventsource", "htmlfile", "jsonp":
			if r.Method != http.MethodGet {
				break
			}
			if transport != "eventsource" && !checkCallback(w, r) {
				return
			}
			h.serveReceiving(w, r, m[1], transport != "jsonp")
			return
		case "xhr_send", "jsonp_send":
			if r.Method == http.MethodPost {
				if r = h.checkMessages(w, r, transport); r == nil {
					return
				}
			}
		case "websocket":
			sw.conn = sockjsConnConfig{maxMessage: h.maxBody, sockjs: true}
		}
	}
	h.inner.ServeHTTP(sw, r)
}

// serveInfo lets sockjs-go answer GET /info, then replaces its entropy (math/rand,
// seeded with the clock, at most 2^31-1) by a crypto/rand number in [0, 2^32-1].
func (h *sockjsHandler) serveInfo(w http.ResponseWriter, r *http.Request) {
	b := &bufferWriter{header: w.Header()}
	h.inner.ServeHTTP(b, r)
	body := b.body.Bytes()
	if b.status == 0 || b.status == http.StatusOK {
		var info map[string]json.RawMessage
		if err := json.Unmarshal(body, &info); err == nil {
			var n [4]byte
			_, _ = rand.Read(n[:])
			info["entropy"] = json.RawMessage(fmt.Sprint(binary.BigEndian.Uint32(n[:])))
			if out, err := json.Marshal(info); err == nil {
				body = out
			}
		}
	}
	if b.status != 0 {
		w.WriteHeader(b.status)
	}
	_, _ = w.Write(body)
}

// iframeETag renders the iframe page once and returns a strong, quoted ETag over it
// (sockjs-go's ETag ignores the configured SockJSURL and is unquoted).
func (h *sockjsHandler) iframeETag() string {
	r, err := http.NewRequest(http.MethodGet, h.prefix+"/iframe.html", nil)
	if err != nil {
		panic("polysock: bad SockJS prefix: " + err.Error())
	}
	b := &bufferWriter{header: http.Header{}}
	h.inner.ServeHTTP(b, r)
	sum := sha256.Sum256(b.body.Bytes())
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

func etagMatches(ifNoneMatch, etag string) bool {
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// checkCallback answers 500 when the c parameter of an htmlfile or jsonp request is
// missing or invalid (sockjs-go answers 400 for htmlfile and for invalid names).
func checkCallback(w http.ResponseWriter, r *http.Request) bool {
	switch c := r.URL.Query().Get("c"); {
	case c == "":
		sockjsError(w, r, http.StatusInternalServerError, `"callback" parameter required`)
		return false
	case !validCallback.MatchString(c):
		sockjsError(w, r, http.StatusInternalServerError, `invalid "callback" parameter`)
		return false
	}
	return true
}

// checkMessages reads and validates the body of xhr_send and jsonp_send: at most MaxBody
// bytes (else 413), a JSON array of strings (else 500 "Broken JSON encoding.", or 500
// "Payload expected." when empty; sockjs-go answers 400 and accepts some malformed
// bodies). It returns the request to pass on, with the bare JSON as a text/plain body, or
// nil after answering.
func (h *sockjsHandler) checkMessages(w http.ResponseWriter, r *http.Request, transport string) *http.Request {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			sockjsError(w, r, http.StatusRequestEntityTooLarge, "Payload too large.")
		} else {
			sockjsError(w, r, http.StatusBadRequest, "Failed to read the body.")
		}
		return nil
	}
	payload := body
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); transport == "jsonp_send" && mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			sockjsError(w, r, http.StatusInternalServerError, "Broken JSON encoding.")
			return nil
		}
		payload = []byte(form.Get("d"))
	}
	payload = bytes.TrimSpace(payload)
	var msgs []string
	switch {
	case len(payload) == 0:
		sockjsError(w, r, http.StatusInternalServerError, "Payload expected.")
		return nil
	case payload[0] != '[' || json.Unmarshal(payload, &msgs) != nil:
		sockjsError(w, r, http.StatusInternalServerError, "Broken JSON encoding.")
		return nil
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(payload))
	r.ContentLength = int64(len(payload))
	r.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	return r
}

// sockjsError answers a request with an error, with the CORS headers sockjs-go puts on
// its own answers (the caller has applied the origin policy), so that pages can read it.
func sockjsError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h := w.Header()
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		origin = "*"
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Cache-Control", "no-store, no-cache, must-revalidate, max-age=0")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

// sockjsUpgradeError answers a failed WebSocket handshake with the messages the protocol
// documents.
func sockjsUpgradeError(w http.ResponseWriter, r *http.Request, status int, reason error) {
	msg := reason.Error()
	switch {
	case !hasToken(r.Header, "Upgrade", "websocket"):
		msg = `Can "Upgrade" only to "WebSocket".`
	case !hasToken(r.Header, "Connection", "upgrade"):
		msg = `"Connection" must be "Upgrade".`
	}
	sockjsError(w, r, status, msg)
}

func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// setJSessionID sets the JSESSIONID cookie the protocol asks for (echoing the client's,
// else "dummy"), except on /info, which must not set cookies.
func setJSessionID(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/info" {
		return
	}
	value := "dummy"
	if c, err := r.Cookie("JSESSIONID"); err == nil && c.Value != "" {
		value = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: value, Path: "/"})
}

func expiresInAYear() string {
	return time.Now().UTC().AddDate(1, 0, 0).Format(http.TimeFormat)
}

// bufferWriter keeps a response in memory.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

// sockjsWriter is the ResponseWriter sockjs-go writes to: it fixes headers, escapes
// characters in frames, holds back spurious 2010 frames and filters hijacked WebSocket
// connections.
type sockjsWriter struct {
	http.ResponseWriter
	escape      bool             // escape the characters the protocol requires in frames
	etag        string           // replaces sockjs-go's ETag when set
	conn        sockjsConnConfig // applied to a hijacked connection
	skip        int              // writes to drop (a prelude already sent)
	retry       func() bool      // reports whether a 2010 frame is to be held back
	swallowed   bool             // a 2010 frame was held back
	wroteHeader bool
}

// WriteHeader fixes the headers and sends them, once.
func (w *sockjsWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	h := w.Header()
	if h.Get("Expires") != "" { // sockjs-go formats it in local time, not as an HTTP date
		h.Set("Expires", expiresInAYear())
	}
	if w.etag != "" && h.Get("ETag") != "" {
		h.Set("ETag", w.etag)
	}
	if v, ok := h["Content-Type"]; ok && (len(v) == 0 || v[0] == "") {
		delete(h, "Content-Type") // a 405 carries no content type
	}
	w.ResponseWriter.WriteHeader(code)
}

// anotherConnection is sockjs-go's answer to a second receiving request, bare and quoted
// as a JavaScript string (htmlfile, jsonp).
const anotherConnection = `c[2010,"Another connection still open"]`

var anotherConnectionQuoted = []byte(`c[2010,\"Another connection still open\"]`)

// Write writes p, escaped when it carries frames. sockjs-go writes each frame (and each
// prelude) with one Write, so no escapable character is split between calls. It reports
// len(p) written on success.
func (w *sockjsWriter) Write(p []byte) (int, error) {
	if w.skip > 0 {
		w.skip--
		return len(p), nil
	}
	if w.retry != nil && (bytes.Contains(p, []byte(anotherConnection)) || bytes.Contains(p, anotherConnectionQuoted)) && w.retry() {
		w.swallowed = true
		return len(p), nil
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	out := p
	if w.escape {
		if q := escapeFrames(p); q != nil {
			out = q
		}
	}
	if _, err := w.ResponseWriter.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *sockjsWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands gorilla (inside sockjs-go) a connection that filters WebSocket frames.
func (w *sockjsWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &sockjsConn{Conn: conn, cfg: w.conn}, brw, nil
}

func (w *sockjsWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// escapeFrames returns p with the characters the SockJS protocol wants servers to escape
// (U+200C–U+200F, U+2028–U+202F, U+2060–U+206F, U+FFF0–U+FFFF: browsers mangle them)
// written as \uXXXX, or nil when p holds none. encoding/json already escapes U+0000–U+001F,
// U+2028 and U+2029. In SockJS frames such characters occur only inside JSON (or
// JavaScript) string literals, where the escape means the same character.
func escapeFrames(p []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i+2 < len(p); i++ {
		if b := p[i]; b != 0xE2 && b != 0xEF {
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		if size != 3 || !(r >= 0x200C && r <= 0x200F || r >= 0x2028 && r <= 0x202F || r >= 0x2060 && r <= 0x206F || r >= 0xFFF0) {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(p)+32)
		}
		const digits = "0123456789abcdef"
		out = append(out, p[last:i]...)
		out = append(out, '\\', 'u', digits[r>>12], digits[r>>8&15], digits[r>>4&15], digits[r&15])
		last = i + 3
		i += 2
	}
	if out == nil {
		return nil
	}
	return append(out, p[last:]...)
}
