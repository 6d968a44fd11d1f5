package transports

import (
	"net/http"
	"strconv"

	"github.com/polysock/polysock/internal/wire"
)

// NoStore sets the caching headers every polysock response carries.
func NoStore(h http.Header) {
	h.Set("Cache-Control", "no-store, no-transform")
	h.Set("Pragma", "no-cache")
}

// WriteError writes a polysock HTTP error answer (PROTOCOL.md section 9.1): status, the
// close code in X-PolySock-Close and a body of "<code> <reason>\n".
func WriteError(w http.ResponseWriter, status int, code uint16, reason string) {
	h := w.Header()
	NoStore(h)
	h.Set("Content-Type", wire.ContentTypeText)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(wire.HeaderClose, strconv.Itoa(int(code)))
	if code == wire.CloseUnsupportedVersion {
		h.Set(wire.HeaderVersion, strconv.Itoa(wire.Version))
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(strconv.Itoa(int(code)) + " " + reason + "\n"))
}
