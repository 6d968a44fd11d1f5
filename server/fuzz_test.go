package server

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/polysock/polysock/internal/wire"
	"github.com/polysock/polysock/transports"
)

// FuzzParseParams checks the query parameter parser: nothing panics; accepted parameters
// keep their rules (a valid session id with a token, subprotocols that are distinct
// tokens); the application's view of the request has no ps_* parameter left.
func FuzzParseParams(f *testing.F) {
	f.Add("ps_v=1&ps_t=poll&ps_e=text")
	f.Add("ps_v=1&ps_sid=abc&ps_tok=x&ps_ack=18446744073709551615&ps_p=a,b")
	f.Add("ps_v=1&ps_v=2&x=%zz&ps_p=a,,a;b")
	f.Add("ps_sid=&ps_tok=&ps_ack=-1&room=5&ps_p=%E2%82%AC")
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, "/ps", nil)
		r.URL.RawQuery = rawQuery
		p, bad := parseParams(r)
		if bad == "" {
			if (p.sid != "" || p.tok != "") && (!wire.ValidSessionID(p.sid) || p.tok == "") {
				t.Fatalf("accepted session %q token %q", p.sid, p.tok)
			}
			seen := map[string]bool{}
			for _, proto := range p.protocols {
				if !isToken(proto) || seen[proto] {
					t.Fatalf("accepted subprotocols %q", p.protocols)
				}
				seen[proto] = true
			}
		}
		req := sessionRequest(r, context.Background())
		for k := range req.URL.Query() {
			if strings.HasPrefix(k, "ps_") {
				t.Fatalf("the application's request keeps %s: %q", k, req.URL.RawQuery)
			}
		}
	})
}

// FuzzServePost checks the POST path end to end on a live session: any Content-Type and
// body (binary or text batches, truncated, malformed, too big) is answered with 200 and
// an ACK or with one of PROTOCOL.md 9.1's error answers, and nothing panics.
func FuzzServePost(f *testing.F) {
	f.Add(wire.ContentTypeBinary, wire.AppendBinary(nil, &wire.Frame{Type: wire.TypeText, Seq: 1, Data: []byte("hi")}))
	f.Add(wire.ContentTypeText, []byte("t1:\"hi\"\na0\np:\"x\"\n"))
	f.Add(wire.ContentTypeText, []byte("c1000:\"bye\"\n"))
	f.Add("text/plain", []byte("t2:\"gap\"\n"))
	f.Add(wire.ContentTypeBinary, []byte{0xff, 0xff, 0xff, 0xff})
	srv := New(func(s *Session) {
		for {
			if _, _, err := s.Read(context.Background()); err != nil {
				return
			}
		}
	}, &Options{MaxMessageSize: 256, MaxBatchSize: 1024})
	f.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		// Open a session with a poll: it is answered at once with OPEN.
		open := httptest.NewRecorder()
		srv.ServeHTTP(open, httptest.NewRequest(http.MethodGet, "/ps?ps_v=1&ps_t=poll", nil))
		var o wire.Open
		err := wire.DecodeBatch(open.Body.Bytes(), func(fr *wire.Frame) error {
			var err error
			o, err = wire.DecodeOpen(fr.Data)
			return err
		})
		if err != nil || o.Token == "" {
			t.Fatalf("poll answer %d %q: %v", open.Code, open.Body.Bytes(), err)
		}
		q := url.Values{wire.ParamVersion: {"1"}, wire.ParamSession: {o.Session}, wire.ParamToken: {o.Token}}
		r := httptest.NewRequest(http.MethodPost, "/ps?"+q.Encode(), bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a batch that would wait for inbox room gives up at once
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r.WithContext(ctx))
		switch w.Code {
		case http.StatusOK:
			form, _ := transports.PostForm(r)
			if form == transports.EncodingBinary {
				if _, _, err := wire.DecodeBinary(w.Body.Bytes()); err != nil {
					t.Fatalf("200 answer %q is not an ACK: %v", w.Body.Bytes(), err)
				}
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
			http.StatusNotFound, http.StatusServiceUnavailable:
			if w.Header().Get(wire.HeaderClose) == "" {
				t.Fatalf("error answer %d without %s", w.Code, wire.HeaderClose)
			}
		default:
			t.Fatalf("POST answered %d %q", w.Code, w.Body.Bytes())
		}
		srv.mu.Lock()
		s := srv.sessions[o.Session]
		srv.mu.Unlock()
		if s != nil {
			s.end(lostCarrier)
		}
	})
}
