// Resume and live transport switching, in Node against the real Go server
// (js/test/server): the server's "cut" command drops every connection of the session
// mid-conversation (its carriers and POSTs), and the client must resume without the page
// noticing, with every message delivered exactly once and in order both ways. Then the
// switches: WebSocket → stream when WebSocket stops getting through, poll → WebSocket when
// it starts getting through, WebSocket → stream after repeated early WebSocket deaths;
// offline/online; and the end of the resume window (4004).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, afterEach, before, describe, test } from "node:test";

import { PolySock, type Options, type Transport, type TransportChange } from "../src/polysock.js";
import { recall } from "../src/select.js";
import { Client, GUARD, removeServer, startServer, type TestServer } from "./harness.js";

const opts = { timeout: GUARD * 3 };

after(removeServer);

// A client that records its transport events and the "try" decisions of its debug log.
// switches: every event as "from>to" ("websocket>" a lost carrier, ">websocket" the resume
// on a new one); moves(): the changes of transport, a loss and its resume read as one.
class Recorder extends Client {
  readonly switches: string[] = [];
  readonly tries: string[] = [];
  readonly broken: string[] = [];
  constructor(url: string, options: Options) {
    super(url, undefined, { ...options, debug: true });
    this.ps.addEventListener("transport", (e) => {
      const d = (e as CustomEvent<TransportChange>).detail;
      const last = this.switches.at(-1);
      // The transport property is the event's to; a resume (from "") follows a loss, and only a loss.
      if (this.ps.transport != d.to) this.broken.push("transport " + this.ps.transport + " at " + d.to);
      if ((d.from == "") != (last?.endsWith(">") ?? false)) this.broken.push(d.from + ">" + d.to + " after " + last);
      this.switches.push(d.from + ">" + d.to);
    });
  }
  losses(): number {
    return this.switches.filter((s) => s.endsWith(">")).length;
  }
  moves(): string[] {
    assert.deepEqual(this.broken, [], "transport events out of order");
    const out: string[] = [];
    let lost = "";
    for (const s of this.switches) {
      const [from, to] = s.split(">") as [string, string];
      if (!to) lost = from;
      else if ((from || lost) != to) out.push((from || lost) + ">" + to);
    }
    return out;
  }
}

// Captures the client's debug log while fn runs: "try" lines go to the recorder of the
// PolySock that logged them (matched by the transport list in use).
const log = console.log;
let current: Recorder[] = [];
before(() => {
  console.log = (...a: unknown[]) => {
    if (a[0] == "polysock" && a[1] == "try") for (const r of current) r.tries.push(String(a[2]));
  };
});
after(() => {
  console.log = log;
});

function recorder(url: string, options: Options): Recorder {
  const r = new Recorder(url, options);
  current = [r];
  return r;
}

// A test that failed leaves no client behind to log into the next one.
afterEach(() => {
  for (const r of current) if (r.ps.readyState < PolySock.CLOSING) r.ps.close();
  current = [];
});

// One round of a conversation: n messages with a command in their middle, then a burst of
// m messages from the server. Returns what must come back: the n echoes, then "0".."m-1".
function round(c: Client, tag: string, command: string, n = 40, m = 60): string[] {
  const want: string[] = [];
  for (let i = 0; i < n; i++) {
    const msg = tag + ":" + i;
    c.ps.send(msg);
    want.push(msg);
    if (i == n / 2) c.ps.send(command);
  }
  c.ps.send("burst:" + m);
  for (let i = 0; i < m; i++) want.push(String(i));
  return want;
}

// Asserts that the session stayed open the whole time: only open and message events.
function stayedOpen(c: Client): void {
  assert.deepEqual(
    c.seen.filter((e) => e.type != "message").map((e) => e.type),
    ["open"],
    "no error or close event",
  );
  assert.equal(c.ps.readyState, PolySock.OPEN);
}

async function closeClean(c: Client): Promise<void> {
  c.ps.close(1000, "done");
  assert.deepEqual(await c.ended(), { type: "close", state: PolySock.CLOSED, code: 1000, reason: "done", wasClean: true });
}

// Cuts on each transport; "sse" is the stream read through EventSource (the eventsource package).
for (const k of ["websocket", "stream", "poll", "sse"] as const) {
  const t: Transport = k == "sse" ? "stream" : k;
  describe("resume on " + k, () => {
    let srv: TestServer;
    const g = globalThis as { EventSource?: unknown };
    before(async () => {
      srv = await startServer("-stream-max", "16384");
      if (k == "sse") g.EventSource = createRequire(import.meta.url)("eventsource");
    });
    after(async () => {
      delete g.EventSource;
      await srv.stop();
    });

    test("connections cut mid-conversation: every message exactly once, in order, both ways", opts, async () => {
      const c = recorder(srv.url, { transports: [t], stream: k == "sse" ? "eventsource" : "", remember: 0 });
      await c.opened();
      c.ps.binaryType = "arraybuffer";
      for (let r = 0; r < 4; r++) {
        const want = round(c, "r" + r, "cut");
        assert.deepEqual(await c.take(want.length), want, "round " + r);
      }
      // Binary messages survive a resume as binary, and bufferedAmount drains to 0.
      c.ps.send(new Uint8Array([1, 2, 3]));
      c.ps.send("cut");
      c.ps.send(new Uint8Array([4, 5]));
      const got = await c.take(2);
      assert.deepEqual(
        got.map((d) => [...new Uint8Array(d as ArrayBuffer)]),
        [
          [1, 2, 3],
          [4, 5],
        ],
      );
      await c.until("bufferedAmount 0", () => c.ps.bufferedAmount == 0);
      c.ps.send("transport");
      assert.deepEqual(await c.take(1), [t]);
      stayedOpen(c);
      assert.equal(c.ps.transport, t);
      assert.deepEqual(c.moves(), [], "no transport change");
      // Each lost carrier was announced (to: "") and its resume too (from: ""). A poll GET
      // still on its way during a cut is not cut: at least one resume, not one per cut. (A
      // cut EventSource looks like a recycled stream: it goes on without a loss.)
      if (k != "sse") {
        assert.ok(c.losses() >= 1 && c.switches.at(-1) == ">" + t, "losses announced, then resumed: " + c.switches.join());
        assert.ok(c.tries.length > c.losses(), "resumed: " + c.tries.join());
      }
      await closeClean(c);
    });
  });
}

describe("transport switches", () => {
  test("WebSocket → stream mid-conversation when WebSocket stops getting through", opts, async () => {
    const srv = await startServer();
    try {
      const c = recorder(srv.url, { remember: 0 });
      await c.opened();
      assert.equal(c.ps.transport, "websocket");
      let want = round(c, "a", "transport");
      want.splice(21, 0, "websocket");
      assert.deepEqual(await c.take(want.length), want);
      c.ps.send("mode:websocket=refuse");
      assert.deepEqual(await c.take(1), ["ok"]);
      want = round(c, "b", "cut");
      assert.deepEqual(await c.take(want.length), want);
      assert.deepEqual(c.moves(), ["websocket>stream"]);
      assert.equal(c.ps.transport, "stream");
      want = round(c, "c", "transport");
      want.splice(21, 0, "stream");
      assert.deepEqual(await c.take(want.length), want);
      stayedOpen(c);
      await closeClean(c);
    } finally {
      await srv.stop();
    }
  });

  test("poll → WebSocket mid-conversation once WebSocket gets through (background probe)", opts, async () => {
    const srv = await startServer("-websocket=refuse");
    try {
      const c = recorder(srv.url, { transports: ["websocket", "poll"], remember: 0, upgrade: 100 });
      await c.opened();
      assert.equal(c.ps.transport, "poll");
      let want = round(c, "a", "transport");
      want.splice(21, 0, "poll");
      assert.deepEqual(await c.take(want.length), want);
      c.ps.send("mode:websocket=ok");
      assert.deepEqual(await c.take(1), ["ok"]);
      // Keep talking until the probe moves the session, then once more.
      for (let r = 0; !c.moves().length; r++) {
        want = round(c, "b" + r, "protocol", 20, 20);
        want.splice(11, 0, "");
        assert.deepEqual(await c.take(want.length), want);
      }
      assert.deepEqual(c.switches, ["poll>websocket"], "the probe took over: no carrier lost");
      assert.equal(c.ps.transport, "websocket");
      // (A poll GET still on its way when the WebSocket was attached may yet replace it on
      // the server, which the client then resumes: the messages must not care.)
      want = round(c, "c", "protocol");
      want.splice(21, 0, "");
      assert.deepEqual(await c.take(want.length), want);
      stayedOpen(c);
      await closeClean(c);
    } finally {
      await srv.stop();
    }
  });

  test("a WebSocket that keeps dying soon after its OPEN: down to the stream, and it stays there", opts, async () => {
    const srv = await startServer("-websocket=flap");
    try {
      const c = recorder(srv.url, { remember: 0 });
      await c.opened();
      // Each WebSocket is dropped 300 ms after its upgrade: the second early death moves the session down.
      await c.until("the switch to the stream", () => c.moves().length > 0);
      assert.deepEqual(c.moves(), ["websocket>stream"]);
      assert.deepEqual(c.switches, ["websocket>", ">websocket", "websocket>", ">stream"], "two early deaths, each announced");
      const tries = c.tries.length;
      const want = round(c, "a", "transport");
      want.splice(21, 0, "stream");
      assert.deepEqual(await c.take(want.length), want);
      assert.equal(c.tries.length, tries, "no new attempt: the session stays on the stream");
      stayedOpen(c);
      await closeClean(c);
    } finally {
      await srv.stop();
    }
  });
});

describe("network", () => {
  const g = globalThis as unknown as Record<string, unknown>;
  let events: EventTarget;
  before(() => {
    events = new EventTarget();
    g.addEventListener = events.addEventListener.bind(events);
    g.removeEventListener = events.removeEventListener.bind(events);
  });
  after(() => {
    delete g.addEventListener;
    delete g.removeEventListener;
    delete g.navigator;
  });
  const online = (on: boolean) => {
    g.navigator = { onLine: on };
    events.dispatchEvent(new Event(on ? "online" : "offline"));
  };

  test("offline: no attempts, none counted; online: reconnects at once", opts, async () => {
    const srv = await startServer();
    try {
      const c = recorder(srv.url, { transports: ["websocket"], remember: 0, retries: 1 });
      await c.opened();
      c.ps.send("hello");
      assert.deepEqual(await c.take(1), ["hello"]);
      const tries = c.tries.length;
      online(false);
      c.ps.send("cut");
      await new Promise((r) => setTimeout(r, 1500)); // longer than any first backoff
      assert.equal(c.tries.length, tries, "no attempt while offline");
      c.ps.send("queued while offline");
      assert.ok(c.ps.bufferedAmount > 0, "queued, not handed to the network");
      online(true);
      assert.deepEqual(await c.take(1), ["queued while offline"]);
      assert.equal(c.tries.length, tries + 1, "one attempt, at once");
      stayedOpen(c);
      await closeClean(c);
    } finally {
      online(true);
      await srv.stop();
    }
  });

  // DESIGN.md: what worked is remembered per origin "and forgotten when the network
  // changes": going offline forgets it, so the next page load starts from the plan.
  test("offline forgets the transport remembered for the origin", opts, async () => {
    const items = new Map<string, string>();
    g.localStorage = { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, String(v)) };
    const srv = await startServer();
    try {
      const origin = new URL(srv.url).origin;
      const c = recorder(srv.url, { transports: ["stream"], remember: 60000 });
      await c.opened();
      assert.equal(recall(origin, Date.now())?.t, "stream", "remembered at open");
      online(false);
      assert.equal(recall(origin, Date.now()), undefined, "forgotten when the network went away");
      online(true);
      c.ps.send("still here");
      assert.deepEqual(await c.take(1), ["still here"]);
      stayedOpen(c);
      await closeClean(c);
    } finally {
      online(true);
      delete g.localStorage;
      await srv.stop();
    }
  });

  test("past the resume window: error, then close 4004", opts, async () => {
    const srv = await startServer("-resume", "100ms");
    try {
      const c = recorder(srv.url, { transports: ["stream"], remember: 0 });
      await c.opened();
      online(false);
      c.ps.send("cut");
      await new Promise((r) => setTimeout(r, 1500)); // the session expires on the server
      online(true);
      const end = await c.ended();
      assert.deepEqual(
        c.seen.filter((e) => e.type != "message").map((e) => e.type),
        ["open", "error", "close"],
      );
      assert.equal(end.code, 4004);
      assert.equal(end.wasClean, false);
    } finally {
      online(true);
      await srv.stop();
    }
  });

  test("retries exhausted: error, then close 1006", opts, async () => {
    const srv = await startServer();
    try {
      const c = recorder(srv.url, { transports: ["websocket"], remember: 0, retries: 2, backoff: 50 });
      await c.opened();
      c.ps.send("mode:websocket=refuse");
      assert.deepEqual(await c.take(1), ["ok"]);
      c.ps.send("cut");
      const end = await c.ended();
      assert.deepEqual(
        c.seen.filter((e) => e.type != "message").map((e) => e.type),
        ["open", "error", "close"],
      );
      assert.deepEqual([end.code, end.wasClean], [1006, false]);
      assert.equal(c.tries.length, 3, "the first attempt, then two reconnection attempts");
    } finally {
      await srv.stop();
    }
  });
});
