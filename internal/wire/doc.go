// Package wire encodes and decodes polysock protocol version 1 frames, in the binary
// form (length-delimited, for WebSocket messages and binary HTTP bodies) and the text form
// (one frame per line, for EventSource, XHR streaming and text POST bodies).
//
// It holds bytes only: no I/O, no HTTP, no session state, standard library only. The
// functions are pure and safe for concurrent use. PROTOCOL.md at the repository root is
// the specification; testdata/vectors.json holds golden vectors shared with the
// TypeScript codec in js/src/wire.ts.
package wire
