// Command build bundles the browser client (js/src) with esbuild's Go API into js/dist:
//
//	polysock.js, polysock.js.map    drop-in IIFE defining the global PolySock (js/src/global.ts)
//	polysock.mjs, polysock.mjs.map  ES module (js/src/index.ts)
//
// Both are minified for browsers from late 2020 on (ES2021), with source maps holding the
// sources. The scripts carry no sourceMappingURL comment: the server names the map in a
// SourceMap header instead, which keeps bytes out of the size-budgeted bundle. Internal
// members, named with a leading underscore, are renamed short. The output depends only on
// the sources, so a fresh build must equal the committed one (make check-bundle).
// polysock.d.ts is emitted by tsc (make bundle).
//
// Usage, from anywhere in the module: go run ./js/build [-out dir] [-analyze]
package main
