// The drop-in entry point (polysock.js, an IIFE): defines the one global name PolySock and
// applies the switches of the web-socket-js pattern, read from the script tag's attributes
// or from globals set before the script runs:
//
//   <script src="/rt/polysock.js" data-polyfill></script>          WebSocket = PolySock where missing
//   <script src="/rt/polysock.js" data-polyfill="force"></script>  WebSocket = PolySock always
//   <script src="/rt/polysock.js" data-debug></script>             log connection decisions
//   window.POLYSOCK_POLYFILL = true | "force"; window.POLYSOCK_DEBUG = true;
import { DEFAULTS, PolySock } from "./polysock.js";

const g = globalThis as unknown as Record<string, unknown>;
const script = (g.document as Document | undefined)?.currentScript;

// A switch: the script attribute when present ("" or its value), else the global flag.
// false when absent, false or "false"; otherwise its value, with "" (a bare attribute)
// read as true.
const flag = (name: string): unknown => {
  const v = script?.getAttribute("data-" + name) ?? g["POLYSOCK_" + name.toUpperCase()];
  return v != null && v !== false && v !== "false" && (v || true);
};

g.PolySock = PolySock;
if (flag("debug")) DEFAULTS.debug = true;
const p = flag("polyfill");
if (p !== false) PolySock.polyfill({ force: p === "force" });
