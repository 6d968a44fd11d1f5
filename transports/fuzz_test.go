package transports

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/polysock/polysock/internal/wire"
)

// FuzzPostBody checks the POST request parser: the form from any Content-Type, then the
// body read against a limit. Nothing panics; a body is returned whole or refused with one
// of ReadPost's errors; only the two forms' media types are accepted.
func FuzzPostBody(f *testing.F) {
	f.Add(wire.ContentTypeBinary, []byte{1, 2, 3}, int64(-1), uint16(10))
	f.Add("text/plain;charset=UTF-8", []byte("t1:\"hi\"\n"), int64(8), uint16(100))
	f.Add("text/plain; charset=latin1; x=y", []byte{}, int64(5), uint16(0))
	f.Add("application/octet-stream; q=1", []byte("abc"), int64(3), uint16(2))
	f.Fuzz(func(t *testing.T, ct string, body []byte, contentLength int64, limit uint16) {
		r := httptest.NewRequest(http.MethodPost, "/ps?ps_v=1", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		// A Content-Length that disagrees with the body is what a cut request looks like.
		if contentLength < -1 || contentLength > 1<<20 {
			contentLength = -1
		}
		r.ContentLength = contentLength
		form, err := PostForm(r)
		if err == nil && form != EncodingBinary && form != EncodingText {
			t.Fatalf("PostForm(%q) = %v", ct, form)
		}
		if err != nil && !errors.Is(err, ErrUnsupportedType) {
			t.Fatalf("PostForm(%q): unexpected error %v", ct, err)
		}
		w := httptest.NewRecorder()
		got, err := ReadPost(w, r, int64(limit))
		switch {
		case err == nil:
			if int64(len(got)) > int64(limit) {
				t.Fatalf("ReadPost returned %d bytes, limit %d", len(got), limit)
			}
			if !bytes.Equal(got, body[:len(got)]) || (contentLength < 0 && len(got) != len(body)) {
				t.Fatalf("ReadPost returned %q of %q", got, body)
			}
		case errors.Is(err, ErrBodyTooBig):
			if int64(len(body)) <= int64(limit) && contentLength <= int64(limit) {
				t.Fatalf("ErrBodyTooBig for %d bytes (Content-Length %d), limit %d", len(body), contentLength, limit)
			}
		case !errors.Is(err, ErrBodyCut):
			t.Fatalf("ReadPost: unexpected error %v", err)
		}
	})
}

// FuzzSockJSMessages checks the parser of xhr_send and jsonp_send bodies: nothing panics;
// a body is either answered with an error or passed on as a JSON array of strings.
func FuzzSockJSMessages(f *testing.F) {
	f.Add(false, "", []byte(`["a","b"]`))
	f.Add(true, "application/x-www-form-urlencoded", []byte(`d=%5B%22x%22%5D`))
	f.Add(true, "application/x-www-form-urlencoded; charset=utf-8", []byte(`d=[&d=`))
	f.Add(false, "text/plain", []byte(" [\"\\ud800\"] "))
	f.Fuzz(func(t *testing.T, jsonp bool, ct string, body []byte) {
		h := &sockjsHandler{maxBody: 1 << 12}
		transport := "xhr_send"
		if jsonp {
			transport = "jsonp_send"
		}
		r := httptest.NewRequest(http.MethodPost, "/s/1/2/"+transport, bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		next := h.checkMessages(w, r, transport)
		if next == nil {
			if w.Code < 400 {
				t.Fatalf("refused with status %d", w.Code)
			}
			return
		}
		if len(body) > 1<<12 {
			t.Fatalf("a body of %d bytes passed a limit of %d", len(body), 1<<12)
		}
		payload, err := io.ReadAll(next.Body)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		if err := json.Unmarshal(payload, &msgs); err != nil {
			t.Fatalf("passed on %q, not a JSON array of strings: %v", payload, err)
		}
	})
}
