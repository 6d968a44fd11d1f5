package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/polysock/polysock/js"
)

// bundleServer serves an endpoint mounted at /rt and /rt/ with a handler that never runs.
func bundleServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := New(func(*Session) {}, nil)
	mux := http.NewServeMux()
	mux.Handle("/rt", srv)
	mux.Handle("/rt/", srv)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func bundleGet(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	// A Transport that does not add Accept-Encoding itself, so each test says what it accepts.
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestBundleServed(t *testing.T) {
	ts := bundleServer(t)
	for name, ctype := range map[string]string{
		"polysock.js":      "text/javascript; charset=utf-8",
		"polysock.mjs":     "text/javascript; charset=utf-8",
		"polysock.js.map":  "application/json; charset=utf-8",
		"polysock.mjs.map": "application/json; charset=utf-8",
		"polysock.d.ts":    "application/typescript; charset=utf-8",
	} {
		t.Run(name, func(t *testing.T) {
			want, err := fs.ReadFile(js.Dist, name)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := bundleGet(t, http.MethodGet, ts.URL+"/rt/"+name, nil)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
				t.Fatalf("GET %s: status %d, %d bytes; want 200 and the %d embedded bytes", name, resp.StatusCode, len(body), len(want))
			}
			h := resp.Header
			if h.Get("Content-Type") != ctype || h.Get("Cache-Control") != "no-cache" || h.Get("Content-Encoding") != "" ||
				h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("headers %v", h)
			}
			etag := h.Get("ETag")
			if len(etag) < 10 || etag[0] != '"' || etag[len(etag)-1] != '"' {
				t.Fatalf("ETag %q is not a strong entity tag", etag)
			}
			if wantMap := name == "polysock.js" || name == "polysock.mjs"; (h.Get("SourceMap") == name+".map") != wantMap {
				t.Errorf("SourceMap header %q", h.Get("SourceMap"))
			}

			// Revalidation: the same tag (strong or weak, alone or in a list) gets 304 without a body.
			for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
				resp, body := bundleGet(t, http.MethodGet, ts.URL+"/rt/"+name, map[string]string{"If-None-Match": inm})
				if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != etag {
					t.Errorf("If-None-Match %s: status %d, %d bytes, ETag %q; want 304, none, %q", inm, resp.StatusCode, len(body), resp.Header.Get("ETag"), etag)
				}
			}
			if resp, _ := bundleGet(t, http.MethodGet, ts.URL+"/rt/"+name, map[string]string{"If-None-Match": `"stale"`}); resp.StatusCode != http.StatusOK {
				t.Errorf("stale If-None-Match: status %d, want 200", resp.StatusCode)
			}

			// HEAD: the headers of GET, no body.
			resp, body = bundleGet(t, http.MethodHead, ts.URL+"/rt/"+name, nil)
			if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("ETag") != etag || resp.ContentLength != int64(len(want)) {
				t.Errorf("HEAD: status %d, %d bytes, ETag %q, length %d", resp.StatusCode, len(body), resp.Header.Get("ETag"), resp.ContentLength)
			}

			// gzip for clients that accept it, under its own tag.
			resp, body = bundleGet(t, http.MethodGet, ts.URL+"/rt/"+name, map[string]string{"Accept-Encoding": "br, gzip"})
			if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" {
				t.Fatalf("gzip: headers %v", resp.Header)
			}
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(plain, want) {
				t.Fatalf("gzip body does not decompress to the file: %v", err)
			}
			gzTag := resp.Header.Get("ETag")
			if gzTag == etag || gzTag == "" {
				t.Errorf("gzip ETag %q must differ from the identity one %q", gzTag, etag)
			}
			resp, _ = bundleGet(t, http.MethodGet, ts.URL+"/rt/"+name, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": gzTag})
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("gzip revalidation: status %d, want 304", resp.StatusCode)
			}
		})
	}
}

// The bundle is public: served whatever the Origin, and only for its exact names and
// read methods; anything else is the endpoint's.
func TestBundleRouting(t *testing.T) {
	ts := bundleServer(t)
	resp, _ := bundleGet(t, http.MethodGet, ts.URL+"/rt/polysock.js", map[string]string{"Origin": "https://elsewhere.example"})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("cross-origin GET: status %d, want 200", resp.StatusCode)
	}
	for _, c := range []struct{ method, path string }{
		{http.MethodPost, "/rt/polysock.js"},
		{http.MethodGet, "/rt/polysock.jsx"},
		{http.MethodGet, "/rt/other.js"},
		{http.MethodGet, "/rt/xpolysock.js"},
	} {
		resp, _ := bundleGet(t, c.method, ts.URL+c.path, nil)
		if resp.StatusCode == http.StatusOK || resp.Header.Get("ETag") != "" {
			t.Errorf("%s %s: status %d, ETag %q: served as a bundle file", c.method, c.path, resp.StatusCode, resp.Header.Get("ETag"))
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                     false,
		"gzip":                 true,
		"GZIP":                 true,
		"br, gzip;q=0.5":       true,
		"gzip;q=0":             false,
		"gzip; q=0.0":          false,
		"*":                    true,
		"*;q=0":                false,
		"*;q=0, gzip":          true,
		"gzip;q=0, *":          false,
		"deflate, br":          false,
		"identity, x-gzip-ish": false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}
