// Tests of js/src/select.ts: the attempt order, timeouts, which close codes end the
// attempts, and the per-origin memory in localStorage (Node has none: each test installs
// a small in-memory Storage, or one that throws like a sandboxed frame's).
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";

import { ALL, backoff, isAnswer, plan, recall, remember, timeoutFor, type Memory } from "../src/select.js";

const every = () => true;

describe("plan", () => {
  test("automatic order is websocket, stream, poll", () => {
    assert.deepEqual(plan(ALL, every), ["websocket", "stream", "poll"]);
  });
  test("the transports option restricts without reordering; unknown names are ignored", () => {
    assert.deepEqual(plan(["poll", "websocket"], every), ["websocket", "poll"]);
    assert.deepEqual(plan(["stream", "carrier-pigeon"], every), ["stream"]);
    assert.deepEqual(plan([], every), []);
  });
  test("transports that cannot run here are left out", () => {
    assert.deepEqual(
      plan(ALL, (t) => t != "websocket"),
      ["stream", "poll"],
    );
  });
  test("a remembered transport goes first, the rest keep their order", () => {
    const mem = (t: Memory["t"]): Memory => ({ t, rtt: 10, exp: Infinity });
    assert.deepEqual(plan(ALL, every, mem("poll")), ["poll", "websocket", "stream"]);
    assert.deepEqual(plan(ALL, every, mem("stream")), ["stream", "websocket", "poll"]);
    assert.deepEqual(plan(ALL, every, mem("websocket")), ["websocket", "stream", "poll"]);
    // Remembered but not allowed, or not available: ignored.
    assert.deepEqual(plan(["websocket", "stream"], every, mem("poll")), ["websocket", "stream"]);
    assert.deepEqual(
      plan(ALL, (t) => t != "poll", mem("poll")),
      ["websocket", "stream"],
    );
  });
});

test("timeoutFor: the base until a connect time is known, then 4× it within 1–10 s", () => {
  assert.equal(timeoutFor(2000), 2000);
  assert.equal(timeoutFor(2000, undefined), 2000);
  assert.equal(timeoutFor(2000, 100), 1000);
  assert.equal(timeoutFor(2000, 600), 2400);
  assert.equal(timeoutFor(2000, 5000), 10000);
});

test("isAnswer: the server's refusals end the attempts, transport failures do not", () => {
  for (const code of [1008, 1009, 1011, 1012, 1013, 4000, 4001, 4002, 4004, 4006, 4008, 4099]) assert.ok(isAnswer(code), String(code));
  for (const code of [0, 1000, 1001, 1002, 1003, 1005, 1006, 1007, 1010, 1014, 1015, 3000, 4005, 4100, 4999]) assert.ok(!isAnswer(code), String(code));
});

describe("memory", () => {
  const g = globalThis as { localStorage?: unknown };
  afterEach(() => {
    delete g.localStorage;
  });
  // A working Storage, as far as recall and remember use it.
  const install = () => {
    const items = new Map<string, string>();
    g.localStorage = {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => void items.set(k, String(v)),
    };
    return items;
  };

  test("remembers per origin until expiry", () => {
    const items = install();
    remember("https://a.example", { t: "stream", rtt: 120, exp: 1000 });
    assert.deepEqual(recall("https://a.example", 999), { t: "stream", rtt: 120, exp: 1000 });
    assert.equal(recall("https://a.example", 1000), undefined, "expired");
    assert.equal(recall("https://b.example", 0), undefined, "another origin");
    assert.deepEqual([...items.keys()], ["polysock:https://a.example"]);
    remember("https://a.example", 0);
    assert.equal(recall("https://a.example", 0), undefined, "forgotten");
  });
  test("corrupt or foreign entries read as nothing", () => {
    const items = install();
    for (const v of ["{", "null", "42", '{"t":"carrier-pigeon","rtt":1,"exp":9e15}', '{"t":"poll","rtt":1}']) {
      items.set("polysock:o", v);
      assert.equal(recall("o", 0), undefined, v);
    }
  });
  test("no storage, or storage that throws, remembers nothing and never throws", () => {
    assert.equal(recall("o", 0), undefined);
    remember("o", { t: "poll", rtt: 1, exp: 9e15 });
    Object.defineProperty(globalThis, "localStorage", {
      configurable: true,
      get() {
        throw new DOMException("denied", "SecurityError");
      },
    });
    assert.equal(recall("o", 0), undefined);
    remember("o", { t: "poll", rtt: 1, exp: 9e15 });
    delete g.localStorage;
    g.localStorage = {
      getItem: () => null,
      setItem: () => {
        throw new DOMException("full", "QuotaExceededError");
      },
    };
    remember("o", { t: "poll", rtt: 1, exp: 9e15 });
    assert.equal(recall("o", 0), undefined);
  });
});

// The documented backoff of the first attempt: up to 500 ms.
const BACKOFF_BASE = 500;

test("backoff: full jitter, uniformly up to BACKOFF_BASE × 2^n, capped", () => {
  assert.equal(backoff(0, 10000, 0), 0, "the smallest draw waits nothing");
  assert.equal(backoff(0, 10000, 0.5), BACKOFF_BASE / 2);
  assert.equal(backoff(3, 10000, 0.5), (BACKOFF_BASE * 8) / 2, "doubles with each attempt");
  assert.equal(backoff(30, 10000, 0.999), 9990, "the cap bounds it");
  assert.equal(backoff(2, 700, 1), 700, "a cap below the exponential wins");
  // Real draws stay within [0, bound) and spread over it (not a constant).
  for (const n of [0, 1, 4, 10]) {
    const bound = Math.min(10000, BACKOFF_BASE * 2 ** n);
    const draws = Array.from({ length: 200 }, () => backoff(n, 10000));
    assert.ok(draws.every((d) => d >= 0 && d < bound), "within [0, " + bound + ")");
    assert.ok(Math.min(...draws) < bound / 4 && Math.max(...draws) > (bound * 3) / 4, "jittered over the range");
  }
});
