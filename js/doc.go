// Package js holds the polysock browser client: its TypeScript sources (js/src), their
// tests (js/test), the esbuild program that bundles them (js/build) and the committed
// bundle (js/dist), which this package embeds so that the server can serve it.
//
// The bundle is rebuilt with `make bundle` (or `go generate ./js` for the JavaScript
// files alone); `make check-bundle` fails when the committed files differ from a fresh
// build.
package js
