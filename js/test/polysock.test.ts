// Tests of the PolySock API surface that need no server: constants, exceptions, the
// events and readyStates of a connection that fails or is closed while connecting,
// binaryType, bufferedAmount, DEFAULTS and polyfill. With transports: [] nothing is
// attempted, so no network is involved.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";

import { DEFAULTS, PolySock } from "../src/polysock.js";
import { throwsDOM } from "./url.test.js";

const none = { transports: [] };
type Seen = [type: string, state: number, detail?: unknown];

// Records the events of ps, from handlers and listeners, with the readyState at each.
function record(ps: PolySock): Seen[] {
  const seen: Seen[] = [];
  ps.onerror = function (e) {
    assert.equal(this, ps);
    seen.push(["onerror", ps.readyState, e.type]);
  };
  ps.onclose = (e) => seen.push(["onclose", ps.readyState, [e.code, e.reason, e.wasClean]]);
  ps.addEventListener("error", () => seen.push(["error", ps.readyState]));
  ps.addEventListener("close", (e) => seen.push(["close", ps.readyState, [e.code, e.wasClean, e instanceof Event]]));
  ps.addEventListener("open", () => seen.push(["open", ps.readyState]));
  return seen;
}

const settle = () => new Promise((r) => setTimeout(r, 20));

test("readyState constants on the class and on instances", () => {
  const ps = new PolySock("ws://h.example/rt", undefined, none);
  for (const [name, value] of [
    ["CONNECTING", 0],
    ["OPEN", 1],
    ["CLOSING", 2],
    ["CLOSED", 3],
  ] as const) {
    assert.equal(PolySock[name], value);
    assert.equal(ps[name], value);
  }
  assert.equal(ps.readyState, PolySock.CONNECTING);
  ps.close();
});

describe("constructor", () => {
  const g = globalThis as { document?: unknown };
  afterEach(() => {
    delete g.document;
  });

  test("resolves ws, wss, http, https and relative URLs to the ws form", () => {
    assert.equal(new PolySock("http://h.example/rt?a=1", [], none).url, "ws://h.example/rt?a=1");
    assert.equal(new PolySock("https://h.example/rt", [], none).url, "wss://h.example/rt");
    assert.equal(new PolySock(new URL("wss://h.example/rt"), [], none).url, "wss://h.example/rt");
    g.document = { baseURI: "https://app.example/page/index.html", addEventListener() {} };
    assert.equal(new PolySock("../rt", [], none).url, "wss://app.example/rt");
  });

  test("throws the native SyntaxErrors", () => {
    throwsDOM(() => new PolySock("ftp://h.example/rt"), "SyntaxError");
    throwsDOM(() => new PolySock("ws://h.example/rt#frag"), "SyntaxError");
    throwsDOM(() => new PolySock("/rt"), "SyntaxError"); // relative, and no document to resolve it
    throwsDOM(() => new PolySock("ws://h.example/rt", ["a", "a"]), "SyntaxError");
    throwsDOM(() => new PolySock("ws://h.example/rt", "a b"), "SyntaxError");
  });
});

describe("while connecting", () => {
  test("send throws InvalidStateError; close checks its arguments first", () => {
    const ps = new PolySock("ws://h.example/rt", undefined, none);
    throwsDOM(() => ps.send("x"), "InvalidStateError");
    throwsDOM(() => ps.close(1001), "InvalidAccessError");
    throwsDOM(() => ps.close(1000, "x".repeat(124)), "SyntaxError");
    assert.equal(ps.readyState, PolySock.CONNECTING);
    ps.close();
  });

  test("close() fails the connection: CLOSING at once, then error and close(1006) while CLOSED", async () => {
    const ps = new PolySock("ws://h.example/rt", undefined, { transports: ["websocket", "stream", "poll"] });
    const seen = record(ps);
    ps.close(1000, "never mind");
    assert.equal(ps.readyState, PolySock.CLOSING);
    assert.deepEqual(seen, [], "events come later, as tasks");
    await settle();
    assert.deepEqual(seen, [
      ["onerror", 3, "error"],
      ["error", 3],
      ["onclose", 3, [1006, "", false]],
      ["close", 3, [1006, false, true]],
    ]);
    ps.close(); // no effect once closed
    assert.equal(ps.readyState, PolySock.CLOSED);
  });

  test("no usable transport: error, then close(1006), never open", async () => {
    const ps = new PolySock("ws://h.example/rt", undefined, none);
    const seen = record(ps);
    await settle();
    assert.deepEqual(
      seen.map((s) => s.slice(0, 2)),
      [
        ["onerror", 3],
        ["error", 3],
        ["onclose", 3],
        ["close", 3],
      ],
    );
  });
});

test("binaryType is blob or arraybuffer; other values are ignored", () => {
  const ps = new PolySock("ws://h.example/rt", undefined, none);
  assert.equal(ps.binaryType, "blob");
  ps.binaryType = "arraybuffer";
  assert.equal(ps.binaryType, "arraybuffer");
  ps.binaryType = "text" as BinaryType;
  assert.equal(ps.binaryType, "arraybuffer");
  ps.close();
});

test("after closing, send only adds to bufferedAmount, as natively", async () => {
  const ps = new PolySock("ws://h.example/rt", undefined, none);
  await settle();
  assert.equal(ps.readyState, PolySock.CLOSED);
  assert.equal(ps.bufferedAmount, 0);
  ps.send("héllo"); // 6 bytes of UTF-8
  ps.send(new Uint8Array(10));
  ps.send(new Blob(["abc"]));
  assert.equal(ps.bufferedAmount, 19);
});

test("DEFAULTS apply to later instances", async () => {
  const saved = DEFAULTS.transports;
  DEFAULTS.transports = [];
  try {
    const ps = new PolySock("ws://h.example/rt");
    const seen = record(ps);
    await settle();
    assert.deepEqual(seen.at(-1), ["close", 3, [1006, false, true]], "nothing to try");
  } finally {
    DEFAULTS.transports = saved;
  }
});

describe("polyfill", () => {
  const g = globalThis as { WebSocket?: unknown };
  const native = g.WebSocket;
  afterEach(() => {
    g.WebSocket = native;
  });

  test("installs only where WebSocket is missing, or when forced", () => {
    g.WebSocket = native ?? class Native {};
    assert.equal(PolySock.polyfill(), false);
    assert.notEqual(g.WebSocket, PolySock);
    assert.equal(PolySock.polyfill({ force: true }), true);
    assert.equal(g.WebSocket, PolySock);
    delete g.WebSocket;
    assert.equal(PolySock.polyfill(), true);
    assert.equal(g.WebSocket, PolySock);
  });
});
