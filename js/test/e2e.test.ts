// PolySock in Node against the real Go server (js/test/server), on each transport Node
// can run: WebSocket (Node 20 needs --experimental-websocket, which the test script
// passes), the fetch stream, fetch polling, and the stream read with EventSource, using
// the eventsource package (a real SSE client, from sockjs-client's dependencies) as
// Node has none. Then the transport selection through a hostile server: WebSocket
// refused, killed after the upgrade, refused with a close code, or silent after OPEN,
// and a stream that never answers. XHR streaming needs a browser.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";

import { PolySock, type Transport } from "../src/polysock.js";
import { Client, GUARD, removeServer, startServer, type TestServer } from "./harness.js";

const opts = { timeout: GUARD * 3 };
const bytes = async (d: string | ArrayBuffer | Blob): Promise<number[]> => [...new Uint8Array(d instanceof Blob ? await d.arrayBuffer() : (d as ArrayBuffer))];

after(removeServer);

test("Node runs with WebSocket (node --experimental-websocket)", () => {
  assert.equal(typeof WebSocket, "function");
});

// Each transport, and the stream read through EventSource ("sse").
for (const k of ["websocket", "stream", "poll", "sse"] as const) {
  const t: Transport = k == "sse" ? "stream" : k;
  describe("transport " + k, () => {
    let srv: TestServer;
    const g = globalThis as { EventSource?: unknown };
    before(async () => {
      // A small stream byte limit: the responses are recycled while the tests run.
      srv = await startServer("-subprotocols", "chat,superchat", "-stream-max", "16384");
      if (k == "sse") g.EventSource = createRequire(import.meta.url)("eventsource");
    });
    after(async () => {
      delete g.EventSource;
      await srv.stop();
    });
    // The WebSocket carrier is reached through the ws: URL, the others through http:.
    const client = (protocols?: string[]) =>
      new Client(t == "websocket" ? srv.ws : srv.url, protocols, { transports: [t], stream: k == "sse" ? "eventsource" : "" });

    test("opens on " + t + " with the subprotocol the server chose", opts, async () => {
      const c = client(["superchat", "chat"]);
      assert.equal(c.ps.readyState, PolySock.CONNECTING);
      assert.equal(c.ps.protocol, "");
      await c.opened();
      assert.equal(c.ps.protocol, "chat", "the server prefers chat");
      assert.equal(c.ps.extensions, "");
      assert.equal(c.ps.url, srv.ws);
      c.ps.send("transport");
      c.ps.send("protocol");
      assert.deepEqual(await c.take(2), [t, "chat"]);
      c.ps.close();
      await c.ended();

      const none = client(["other"]);
      await none.opened();
      assert.equal(none.ps.protocol, "");
      none.ps.close();
      await none.ended();
    });

    test("echoes text, binary, empty and unicode messages with their types", opts, async () => {
      const c = client();
      await c.opened();
      c.ps.binaryType = "arraybuffer";
      const unicode = "héllo wörld 😀 \u0000\n\"\\ \u2028 终";
      c.ps.send("hello");
      c.ps.send("");
      c.ps.send(unicode);
      c.ps.send(new Uint8Array([0, 1, 2, 255]).buffer);
      c.ps.send(new ArrayBuffer(0));
      c.ps.send(new Uint8Array([9, 8, 7, 6, 5]).subarray(1, 3)); // a view: only its bytes
      c.ps.send(new DataView(new Uint8Array([1, 2, 3]).buffer, 2));
      c.ps.send(new Blob([new Uint8Array([4, 2])]));
      c.ps.send("after the blob");
      const got = await c.take(9);
      assert.deepEqual(got.slice(0, 3), ["hello", "", unicode]);
      for (const d of got.slice(3, 8)) assert.ok(d instanceof ArrayBuffer, "binary as ArrayBuffer");
      assert.deepEqual(await Promise.all(got.slice(3, 8).map(bytes)), [[0, 1, 2, 255], [], [8, 7], [3], [4, 2]]);
      assert.equal(got[8], "after the blob", "the Blob kept its place");

      c.ps.binaryType = "blob";
      c.ps.binaryType = "bogus" as BinaryType; // ignored, as natively
      assert.equal(c.ps.binaryType, "blob");
      c.ps.send(new Uint8Array(70000).fill(7));
      const [blob] = await c.take(1);
      assert.ok(blob instanceof Blob);
      const big = await bytes(blob!);
      assert.equal(big.length, 70000);
      assert.ok(big.every((b) => b == 7));
      assert.equal(c.ps.bufferedAmount, 0);
      c.ps.close();
      await c.ended();
    });

    test("1000 messages each way arrive in order", opts, async () => {
      const c = client();
      await c.opened();
      const want = Array.from({ length: 1000 }, (_, i) => "m" + i);
      for (const m of want) c.ps.send(m);
      assert.ok(c.ps.bufferedAmount > 0, "queued until the carrier writes");
      assert.deepEqual(await c.take(1000), want);
      c.ps.send("burst:1000");
      assert.deepEqual(
        await c.take(1000),
        want.map((_, i) => String(i)),
      );
      c.ps.close();
      await c.ended();
    });

    test("close from the client: code and reason, clean, native readyStates", opts, async () => {
      const c = client();
      await c.opened();
      c.ps.send("last words");
      assert.deepEqual(await c.take(1), ["last words"]);
      c.ps.close(3001, "bye");
      assert.equal(c.ps.readyState, PolySock.CLOSING);
      c.ps.close(3002, "again"); // no effect while closing
      c.ps.send("after close"); // dropped, counted as buffered
      assert.equal(c.ps.bufferedAmount >= "after close".length, true);
      const end = await c.ended();
      assert.deepEqual(end, { type: "close", state: PolySock.CLOSED, code: 3001, reason: "bye", wasClean: true });
      assert.deepEqual(
        c.seen.map((e) => e.type),
        ["open", "message", "close"],
        "no error",
      );
      assert.equal(c.ps.readyState, PolySock.CLOSED);
    });

    test("close from the server: its code and reason, clean", opts, async () => {
      const c = client();
      await c.opened();
      c.ps.send("close:4321:server says bye");
      const end = await c.ended();
      assert.deepEqual(end, { type: "close", state: PolySock.CLOSED, code: 4321, reason: "server says bye", wasClean: true });
      assert.deepEqual(
        c.seen.map((e) => e.type),
        ["open", "close"],
      );
    });
  });
}

describe("HTTP carriers across requests", () => {
  test("a stream recycled every 4 KiB loses nothing", opts, async () => {
    const srv = await startServer("-stream-max", "4096");
    try {
      const c = new Client(srv.url, undefined, { transports: ["stream"] });
      await c.opened();
      c.ps.send("burst:2000");
      assert.deepEqual(
        await c.take(2000),
        Array.from({ length: 2000 }, (_, i) => String(i)),
      );
      c.ps.send("transport");
      assert.deepEqual(await c.take(1), ["stream"]);
      c.ps.close();
      assert.equal((await c.ended()).wasClean, true);
    } finally {
      await srv.stop();
    }
  });

  test("polls held and answered empty keep the session going", opts, async () => {
    const srv = await startServer("-hold", "100ms");
    try {
      const c = new Client(srv.url, undefined, { transports: ["poll"] });
      await c.opened();
      await new Promise((r) => setTimeout(r, 500)); // several empty poll answers
      c.ps.send("still here");
      assert.deepEqual(await c.take(1), ["still here"]);
      c.ps.close(1000);
      assert.deepEqual(await c.ended(), { type: "close", state: PolySock.CLOSED, code: 1000, reason: "", wasClean: true });
    } finally {
      await srv.stop();
    }
  });
});

describe("selection", () => {
  const on = async (flags: string[], options: ConstructorParameters<typeof PolySock>[2], want: Transport) => {
    const srv = await startServer(...flags);
    try {
      const c = new Client(srv.url, undefined, options);
      await c.opened();
      c.ps.send("transport");
      assert.deepEqual(await c.take(1), [want]);
      c.ps.close();
      await c.ended();
    } finally {
      await srv.stop();
    }
  };

  test("WebSocket refused: the stream carries the session", opts, () => on(["-websocket=refuse"], {}, "stream"));
  test("WebSocket killed after the upgrade, before OPEN: the stream", opts, () => on(["-websocket=kill"], {}, "stream"));
  test("WebSocket unanswered past the timeout: the stream", opts, () => on(["-websocket=hang"], { timeout: 300 }, "stream"));
  test("WebSocket refused and a stream that delivers nothing: polling", opts, () =>
    on(["-websocket=refuse", "-stream=hang"], { timeout: 300 }, "poll"),
  );
  test("the transports option restricts the choice", opts, () => on([], { transports: ["stream", "poll"] }, "stream"));

  test("what worked is remembered per origin: the next PolySock starts on it", opts, async () => {
    const items = new Map<string, string>();
    const g = globalThis as { localStorage?: unknown };
    g.localStorage = { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
    const log = console.log;
    const srv = await startServer("-websocket=refuse");
    try {
      const first = new Client(srv.url, undefined, { remember: 60000 });
      await first.opened();
      first.ps.close();
      await first.ended();
      const mem = JSON.parse(items.get("polysock:" + new URL(srv.url).origin)!) as { t: string; rtt: number; exp: number };
      assert.equal(mem.t, "stream");
      assert.ok(mem.rtt >= 0 && mem.exp > Date.now());

      const tried: unknown[] = [];
      console.log = (...a: unknown[]) => void (a[1] == "try" && tried.push(a[2]));
      const second = new Client(srv.url, undefined, { remember: 60000, debug: true });
      await second.opened();
      console.log = log;
      assert.deepEqual(tried, ["stream"], "started on the remembered stream, no WebSocket attempt");
      second.ps.close();
      await second.ended();
    } finally {
      console.log = log;
      delete g.localStorage;
      await srv.stop();
    }
  });

  test("installed as WebSocket by polyfill({ force: true }), it still uses the native WebSocket", opts, async () => {
    const g = globalThis as { WebSocket?: unknown };
    const native = g.WebSocket;
    const srv = await startServer();
    try {
      assert.equal(PolySock.polyfill({ force: true }), true);
      const ws = new (g.WebSocket as typeof PolySock)(srv.ws);
      assert.ok(ws instanceof PolySock);
      const got = new Promise<unknown>((resolve) => (ws.onmessage = (e) => resolve(e.data)));
      ws.onopen = () => ws.send("transport");
      assert.equal(await got, "websocket");
      const end = new Promise<CloseEvent>((resolve) => (ws.onclose = resolve));
      ws.close();
      assert.equal((await end).code, 1005, "a close without code is reported as 1005");
    } finally {
      g.WebSocket = native;
      await srv.stop();
    }
  });

  // With retries 0 a lost carrier ends the session (the resume itself: resume.test.ts).
  test("a carrier silent past 2 × ping + 5 s is declared dead: with retries 0, error, then close 1006", opts, async () => {
    const srv = await startServer("-websocket=silent");
    try {
      const c = new Client(srv.url, undefined, { transports: ["websocket"], retries: 0 });
      await c.opened();
      const end = await c.ended();
      assert.deepEqual(
        c.seen.map((e) => [e.type, e.state]),
        [
          ["open", PolySock.OPEN],
          ["error", PolySock.CLOSED],
          ["close", PolySock.CLOSED],
        ],
      );
      assert.equal(end.code, 1006);
      assert.equal(end.wasClean, false);
    } finally {
      await srv.stop();
    }
  });

  test("the server's close code ends the attempts: error, then close, CLOSED at both", opts, async () => {
    const srv = await startServer("-websocket=close:1013");
    try {
      const c = new Client(srv.url);
      const end = await c.ended();
      assert.deepEqual(c.seen, [{ type: "error", state: PolySock.CLOSED }, end]);
      assert.equal(end.code, 1013);
      assert.equal(end.wasClean, false);
    } finally {
      await srv.stop();
    }
  });

  test("when no transport works: error, then close 1006", opts, async () => {
    const srv = await startServer("-websocket=refuse");
    try {
      const c = new Client(srv.url, undefined, { transports: ["websocket"] });
      const end = await c.ended();
      assert.deepEqual(c.seen, [{ type: "error", state: PolySock.CLOSED }, end]);
      assert.equal(end.code, 1006);
      assert.equal(end.wasClean, false);
    } finally {
      await srv.stop();
    }
  });
});
