package js

import (
	"embed"
	"io/fs"
)

//go:generate go run ./build

//go:embed dist
var dist embed.FS

// Dist is the built client, read-only:
//
//	polysock.js       drop-in IIFE, defines the global PolySock (minified)
//	polysock.js.map   its source map, sources included
//	polysock.mjs      ES module exporting PolySock and DEFAULTS (minified)
//	polysock.mjs.map  its source map
//	polysock.d.ts     TypeScript declarations of the ES module
var Dist fs.FS

func init() {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic("js: embedded dist missing: " + err.Error())
	}
	Dist = sub
}
