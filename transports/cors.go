package transports

import (
	"net/http"

	"github.com/polysock/polysock/internal/wire"
)

// AllowedMethods is the value of the Allow header: the methods the endpoint serves.
const AllowedMethods = "GET, POST, OPTIONS"

// AllowOrigin sets the CORS headers of a response to a cross-origin request whose origin
// the caller's policy allows (PROTOCOL.md section 8.5). Every response to such a request
// carries them, error answers included, so that the page can read the answer.
func AllowOrigin(h http.Header, origin string) {
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", wire.HeaderClose+", "+wire.HeaderVersion)
}

// Preflight answers an OPTIONS request, a CORS preflight, with 204 and the methods and
// request headers the endpoint accepts, cacheable for 600 s. The caller has already
// checked the origin and called AllowOrigin.
func Preflight(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Allow", AllowedMethods)
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}
