// Tests of the committed bundles in js/dist, as shipped (minified, internal names
// renamed): the IIFE's one global and its polyfill and debug switches (script attribute
// or global flag), run in a fresh V8 context; and the ES module against the real server
// on every transport Node can run.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import vm from "node:vm";

import type { PolySock as PolySockType, Transport } from "../src/polysock.js";
import { GUARD, removeServer, startServer } from "./harness.js";

const dist = new URL("../../../js/dist/", import.meta.url);
const iife = readFileSync(new URL("polysock.js", dist), "utf8");

after(removeServer);

// Runs polysock.js in a new context holding the given globals (plus what it needs), as a
// page would with <script src="polysock.js">, and returns the context's globals.
function load(globals: Record<string, unknown>, attrs?: Record<string, string>): Record<string, unknown> {
  const logs: unknown[][] = [];
  const ctx: Record<string, unknown> = {
    EventTarget,
    AbortController,
    Event,
    MessageEvent,
    DOMException,
    URL,
    TextEncoder,
    TextDecoder,
    Blob,
    setTimeout,
    clearTimeout,
    queueMicrotask,
    console: { log: (...a: unknown[]) => logs.push(a) },
    logs,
    ...globals,
  };
  if (attrs) ctx.document = { baseURI: "http://page.example/", currentScript: { getAttribute: (n: string) => attrs[n] ?? null }, addEventListener() {} };
  vm.runInNewContext(iife, ctx);
  return ctx;
}

class Native {}

describe("polysock.js (IIFE)", () => {
  test("defines the one global PolySock and installs nothing by default", () => {
    const before = new Set(Object.keys(load({})));
    const g = load({});
    assert.equal(typeof g.PolySock, "function");
    assert.deepEqual(
      Object.keys(g).filter((k) => !before.has(k) || k == "PolySock"),
      ["PolySock"],
    );
    assert.equal(g.WebSocket, undefined);
    assert.equal(load({ WebSocket: Native }).WebSocket, Native);
  });

  test("POLYSOCK_POLYFILL installs it where WebSocket is missing, \"force\" always", () => {
    let g = load({ POLYSOCK_POLYFILL: true });
    assert.equal(g.WebSocket, g.PolySock);
    g = load({ POLYSOCK_POLYFILL: true, WebSocket: Native });
    assert.equal(g.WebSocket, Native);
    g = load({ POLYSOCK_POLYFILL: "force", WebSocket: Native });
    assert.equal(g.WebSocket, g.PolySock);
    g = load({ POLYSOCK_POLYFILL: false });
    assert.equal(g.WebSocket, undefined);
  });

  test("data-polyfill on the script tag does the same, and wins over the global flag", () => {
    let g = load({}, { "data-polyfill": "" });
    assert.equal(g.WebSocket, g.PolySock);
    g = load({ WebSocket: Native }, { "data-polyfill": "" });
    assert.equal(g.WebSocket, Native);
    g = load({ WebSocket: Native }, { "data-polyfill": "force" });
    assert.equal(g.WebSocket, g.PolySock);
    g = load({ POLYSOCK_POLYFILL: "force", WebSocket: Native }, { "data-polyfill": "false" });
    assert.equal(g.WebSocket, Native);
  });

  test("data-debug or POLYSOCK_DEBUG logs the connection decisions", async () => {
    // A WebSocket that cannot even be constructed: one attempt, which fails, then the end.
    const Refused = class {
      constructor() {
        throw new Error("refused");
      }
    };
    for (const [globals, attrs] of [
      [{ POLYSOCK_DEBUG: true, WebSocket: Refused }, undefined],
      [{ WebSocket: Refused }, { "data-debug": "" }],
    ] as const) {
      const g = load(globals, attrs);
      const PS = g.PolySock as typeof PolySockType;
      const ps = new PS("ws://h.example/rt", [], { transports: ["websocket"] });
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(ps.readyState, 3);
      const logs = (g.logs as unknown[][]).map((l) => l.slice(0, 3).join(" "));
      assert.deepEqual(logs, ["polysock try websocket", "polysock fail websocket"], "logged the attempt and its failure");
    }
    const quiet = load({ WebSocket: Refused });
    const PS = quiet.PolySock as typeof PolySockType;
    new PS("ws://h.example/rt", [], { transports: ["websocket"] });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(quiet.logs, []);
  });
});

describe("polysock.mjs (ES module) against the server", () => {
  for (const t of ["websocket", "stream", "poll"] as Transport[]) {
    test("echo and close on " + t, { timeout: GUARD * 2 }, async () => {
      const { PolySock, DEFAULTS } = (await import(new URL("polysock.mjs", dist).href)) as typeof import("../src/polysock.js");
      assert.equal(typeof DEFAULTS.timeout, "number");
      const srv = await startServer();
      try {
        const ps = new PolySock(srv.url, [], { transports: [t], remember: 0 });
        ps.binaryType = "arraybuffer";
        const got: unknown[] = [];
        const end = new Promise<CloseEvent>((resolve) => (ps.onclose = resolve));
        ps.onopen = () => {
          ps.send("transport");
          ps.send(new Uint8Array([1, 2, 3]));
        };
        ps.onmessage = (e) => {
          got.push(e.data instanceof ArrayBuffer ? [...new Uint8Array(e.data)] : e.data);
          if (got.length == 2) ps.close(3000, "done");
        };
        const timer = setTimeout(() => ps.close(), GUARD);
        const e = await end;
        clearTimeout(timer);
        assert.deepEqual(got, [t, [1, 2, 3]]);
        assert.deepEqual([e.code, e.reason, e.wasClean], [3000, "done", true]);
      } finally {
        await srv.stop();
      }
    });
  }
});
