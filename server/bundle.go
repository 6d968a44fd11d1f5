package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/polysock/polysock/js"
)

// A file of the browser client, ready to serve: its content types, its bytes as they are
// and gzipped, and an ETag for each form.
type bundleFile struct {
	ctype     string
	sourceMap string // the SourceMap header of a script, "" for other files
	data, gz  []byte
	etag      string // ETag of data; the gzipped form's is etag with "-gz" added inside the quotes
}

// bundleTypes lists the client files served at <endpoint>/<name> and their content types.
var bundleTypes = map[string]string{
	"polysock.js":      "text/javascript; charset=utf-8",
	"polysock.mjs":     "text/javascript; charset=utf-8",
	"polysock.js.map":  "application/json; charset=utf-8",
	"polysock.mjs.map": "application/json; charset=utf-8",
	"polysock.d.ts":    "application/typescript; charset=utf-8",
}

// bundle holds the client files, loaded once from the embedded build.
var bundle = loadBundle(js.Dist)

func loadBundle(dist fs.FS) map[string]*bundleFile {
	files := make(map[string]*bundleFile, len(bundleTypes))
	for name, ctype := range bundleTypes {
		data, err := fs.ReadFile(dist, name)
		if err != nil {
			panic("polysock: client bundle file missing: " + err.Error())
		}
		sum := sha256.Sum256(data)
		f := &bundleFile{ctype: ctype, data: data, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		if strings.HasSuffix(name, "js") {
			f.sourceMap = name + ".map"
		}
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = w.Write(data)
		_ = w.Close()
		if b.Len() < len(data) {
			f.gz = b.Bytes()
		}
		files[name] = f
	}
	return files
}

// serveBundle serves a GET or HEAD for one of the client files: a path ending in
// /polysock.js, /polysock.mjs, their .map files or /polysock.d.ts, whatever comes before
// (the endpoint). It reports whether it answered. The files are public: no origin check,
// any origin may load them (Access-Control-Allow-Origin: *, for module scripts). Clients
// revalidate every time (Cache-Control: no-cache) and get 304 while the ETag matches;
// clients that accept gzip get the precompressed form.
func serveBundle(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	f := bundle[r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]]
	if f == nil {
		return false
	}
	body, etag := f.data, f.etag
	h := w.Header()
	if f.gz != nil {
		h.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = f.gz, etag[:len(etag)-1]+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
	if f.sourceMap != "" {
		h.Set("SourceMap", f.sourceMap)
	}
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
	return true
}

// etagMatch reports whether an If-None-Match header names etag, or is "*" (weak
// comparison, as RFC 9110 section 13.1.2 asks).
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip: it names gzip, or
// else *, without q=0.
func acceptsGzip(header string) bool {
	gzip, star := -1.0, -1.0
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.ReplaceAll(strings.ToLower(params), " ", ""), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip":
			gzip = q
		case "*":
			star = q
		}
	}
	if gzip < 0 {
		gzip = star
	}
	return gzip > 0
}
