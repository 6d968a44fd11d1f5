// Tests of js/src/wire.ts: the golden vectors shared with the Go codec
// (internal/wire/testdata/vectors.json) in both directions, the streaming decoder at every
// chunk boundary, and the parts the vectors do not cover (OPEN bodies, limits, errors).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import {
  ACK,
  BINARY,
  CLOSE,
  decoder,
  MAX_SAFE,
  OPEN,
  PAD,
  PING,
  PONG,
  TEXT,
  WireError,
  decodeBatch,
  decodeLine,
  decodeTextBody,
  encodeBatch,
  encodeFrame,
  encodeLine,
  encodeTextBody,
  parseOpen,
  validCloseCode,
  type Frame,
  type OutFrame,
  type WireErrorKind,
} from "../src/wire.js";

// ---- vector file ----

interface VectorFrame {
  type: string;
  seq?: number;
  code?: number;
  data?: string;
  hex?: string;
}
interface Vectors {
  version: number;
  binary: { name: string; hex: string; frames: VectorFrame[] }[];
  text: { name: string; line: string; frame: VectorFrame }[];
  textDecodeOnly: { name: string; line: string; frame: VectorFrame }[];
  invalidBinary: { name: string; hex: string; error: WireErrorKind }[];
  invalidText: { name: string; line: string; error: WireErrorKind }[];
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "go.mod"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("repository root (go.mod) not found above " + import.meta.url);
    dir = up;
  }
  return dir;
}

const vectors = JSON.parse(
  readFileSync(join(repoRoot(), "internal/wire/testdata/vectors.json"), "utf8"),
) as Vectors;

const typeByName: Record<string, number> = {
  pad: PAD,
  open: OPEN,
  text: TEXT,
  binary: BINARY,
  ack: ACK,
  ping: PING,
  pong: PONG,
  close: CLOSE,
};

function fromHex(hex: string): Uint8Array {
  assert.match(hex, /^(?:[0-9a-f]{2})*$/, "vector hex must be lowercase pairs");
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function toFrame(v: VectorFrame): Frame {
  const type = typeByName[v.type];
  assert.ok(type !== undefined, "unknown vector frame type " + v.type);
  const seq = v.seq ?? 0;
  const code = v.code ?? 0;
  if (type === TEXT || type === OPEN || type === CLOSE) return { type, seq, code, data: v.data ?? "" };
  return { type: type as 0 | 3 | 4 | 5 | 6, seq, code, data: fromHex(v.hex ?? "") };
}

// A comparable rendering of a frame: string data stays a string, bytes become hex, so a
// frame carrying the wrong data form never equals the expected one.
function show(f: Frame): { type: number; seq: number; code: number; data: string | { hex: string } } {
  return {
    type: f.type,
    seq: f.seq,
    code: f.code,
    data: typeof f.data === "string" ? f.data : { hex: toHex(f.data) },
  };
}

function decodeAll(buf: Uint8Array): Frame[] {
  const out: Frame[] = [];
  decodeBatch(buf, (f) => out.push(f));
  return out;
}

// Feeds buf to a fresh Decoder in the given chunks, then ends it.
function decodeChunks(chunks: Uint8Array[]): Frame[] {
  const d = decoder();
  const out: Frame[] = [];
  for (const c of chunks) d.push(c, (f) => out.push(f));
  assert.equal(d.pending, 0, "bytes left over");
  d.end();
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Asserts that fn throws a WireError of the given kind.
function assertWireError(fn: () => unknown, kind: WireErrorKind, what: string): void {
  assert.throws(
    fn,
    (e: unknown) => {
      assert.ok(e instanceof WireError, what + ": threw " + String(e) + ", want WireError");
      assert.equal(e.kind, kind, what + ": " + e.message);
      return true;
    },
    what,
  );
}

// ---- golden vectors ----

describe("vectors", () => {
  test("file is version 1 and holds every section", () => {
    assert.equal(vectors.version, 1);
    for (const section of ["binary", "text", "textDecodeOnly", "invalidBinary", "invalidText"] as const) {
      assert.ok(vectors[section].length > 0, section + " is empty");
    }
  });

  describe("binary", () => {
    for (const e of vectors.binary) {
      test(e.name, () => {
        const raw = fromHex(e.hex);
        const want = e.frames.map(toFrame).map(show);
        assert.deepEqual(decodeAll(raw).map(show), want, "decodeBatch");
        assert.equal(toHex(encodeBatch(e.frames.map(toFrame))), e.hex, "encodeBatch");
        assert.equal(toHex(concat(e.frames.map((f) => encodeFrame(toFrame(f))))), e.hex, "encodeFrame each");

        // Streaming: one chunk, every split into two chunks, and one byte at a time.
        assert.deepEqual(decodeChunks([raw]).map(show), want, "one chunk");
        for (let k = 0; k <= raw.length; k++) {
          const got = decodeChunks([raw.subarray(0, k), raw.subarray(k)]).map(show);
          assert.deepEqual(got, want, "split at " + k);
        }
        const bytes = Array.from(raw, (_, i) => raw.subarray(i, i + 1));
        assert.deepEqual(decodeChunks(bytes).map(show), want, "byte by byte");
      });
    }
  });

  describe("text", () => {
    for (const e of vectors.text) {
      test(e.name, () => {
        const want = toFrame(e.frame);
        assert.deepEqual(show(decodeLine(e.line)), show(want), "decodeLine");
        assert.equal(encodeLine(want), e.line, "encodeLine");
        // The same frame survives the binary form too.
        assert.deepEqual(decodeAll(encodeFrame(want)).map(show), [show(want)], "binary round trip");
      });
    }
    test("all lines as one body", () => {
      const want = vectors.text.map((e) => show(toFrame(e.frame)));
      const body = vectors.text.map((e) => e.line + "\n").join("");
      const got: Frame[] = [];
      decodeTextBody(body, (f) => got.push(f));
      assert.deepEqual(got.map(show), want);
      const noFinalLF: Frame[] = [];
      decodeTextBody(body.slice(0, -1), (f) => noFinalLF.push(f));
      assert.deepEqual(noFinalLF.map(show), want, "without the final LF");
      assert.equal(encodeTextBody(vectors.text.map((e) => toFrame(e.frame))), body, "encodeTextBody");
    });
  });

  describe("textDecodeOnly", () => {
    for (const e of vectors.textDecodeOnly) {
      test(e.name, () => {
        const want = toFrame(e.frame);
        assert.deepEqual(show(decodeLine(e.line)), show(want), "decodeLine");
        const line = encodeLine(want);
        assert.notEqual(line, e.line, "encodeLine reproduces the line: the entry belongs in text");
        const again = decodeLine(line);
        if (want.type === PAD) assert.equal(again.type, PAD);
        else assert.deepEqual(show(again), show(want), "re-decoded");
      });
    }
  });

  describe("invalidBinary", () => {
    for (const e of vectors.invalidBinary) {
      test(e.name, () => {
        const raw = fromHex(e.hex);
        const seen: Frame[] = [];
        if (e.error === "truncated") {
          // The streaming decoder waits for more bytes, then reports the cut at the end;
          // a complete batch that ends this way is malformed.
          const d = decoder();
          d.push(raw, (f) => seen.push(f));
          assert.equal(seen.length, 0, "frames from a truncated first frame");
          assert.equal(d.pending, raw.length);
          assertWireError(() => d.end(), "truncated", "end");
          assertWireError(() => decodeBatch(raw, () => {}), "malformed", "decodeBatch");
          return;
        }
        assertWireError(() => decodeBatch(raw, () => {}), e.error, "decodeBatch");
        // Streaming, whole and at every split: the same error, or, where the input is only
        // bad because it ends inside a frame, "truncated" at the end.
        for (let k = 0; k <= raw.length; k++) {
          const d = decoder();
          let err: unknown;
          try {
            d.push(raw.subarray(0, k), () => {});
            d.push(raw.subarray(k), () => {});
            d.end();
          } catch (x) {
            err = x;
          }
          assert.ok(err instanceof WireError, "split at " + k + ": no error");
          if (err.kind !== "truncated" || e.error !== "malformed") {
            assert.equal(err.kind, e.error, "split at " + k + ": " + err.message);
          }
        }
      });
    }
  });

  describe("invalidText", () => {
    for (const e of vectors.invalidText) {
      test(e.name, () => {
        assertWireError(() => decodeLine(e.line), e.error, "decodeLine");
        if (e.line.includes("\n")) return;
        // Inside a body, after a good line, the line fails the same way.
        let calls = 0;
        assertWireError(() => decodeTextBody("a1\n" + e.line + "\n", () => calls++), e.error, "decodeTextBody");
        assert.equal(calls, 1);
      });
    }
  });
});

// ---- beyond the vectors ----

// Deterministic pseudo-random numbers (xorshift32), so a failure reproduces.
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

describe("codec", () => {
  test("random frames survive both forms", () => {
    const r = rng(12345);
    const chars = ["a", "é", "€", "😀", "\n", "\u0000", '"', "\\", "\u001f", "\u007f", "\u2028", "\ufeff", "/"];
    const str = (n: number) => Array.from({ length: r(n) }, () => chars[r(chars.length)]).join("");
    const bytes = (n: number) => Uint8Array.from({ length: r(n) }, () => r(256));
    const seqs = [1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 + 1, MAX_SAFE];
    for (let round = 0; round < 200; round++) {
      const frames: Frame[] = [];
      for (let i = 0; i < 1 + r(6); i++) {
        switch (r(7)) {
          case 0:
            frames.push({ type: TEXT, seq: seqs[r(seqs.length)] ?? 1, code: 0, data: str(300) });
            break;
          case 1:
            frames.push({ type: BINARY, seq: seqs[r(seqs.length)] ?? 1, code: 0, data: bytes(300) });
            break;
          case 2:
            frames.push({ type: ACK, seq: r(2) ? 0 : (seqs[r(seqs.length)] ?? 1), code: 0, data: new Uint8Array(0) });
            break;
          case 3:
            frames.push({ type: r(2) ? PING : PONG, seq: 0, code: 0, data: bytes(126) });
            break;
          case 4:
            frames.push(r(3) ? { type: CLOSE, seq: 0, code: 3000 + r(2000), data: str(30) } : { type: CLOSE, seq: 0, code: 0, data: "" });
            break;
          case 5:
            frames.push({ type: OPEN, seq: 0, code: 0, data: JSON.stringify({ v: 1, s: str(20) }) });
            break;
          default:
            frames.push({ type: PAD, seq: 0, code: 0, data: new Uint8Array(r(200)).fill(0x20) });
        }
      }
      const want = frames.map(show);
      const bin = encodeBatch(frames);
      assert.deepEqual(decodeAll(bin).map(show), want, "binary, round " + round);
      const cut = r(bin.length + 1);
      assert.deepEqual(decodeChunks([bin.subarray(0, cut), bin.subarray(cut)]).map(show), want);
      const got: Frame[] = [];
      decodeTextBody(encodeTextBody(frames), (f) => got.push(f));
      // A text-form PAD decodes to the spaces of its line, which the frames above use.
      assert.deepEqual(got.map(show), want, "text, round " + round);
    }
  });

  test("TEXT data given as UTF-8 bytes encodes like the string", () => {
    const s = "héllo 😀";
    const asBytes: OutFrame = { type: TEXT, seq: 9, code: 0, data: new TextEncoder().encode(s) };
    const asString: OutFrame = { type: TEXT, seq: 9, code: 0, data: s };
    assert.deepEqual(encodeFrame(asBytes), encodeFrame(asString));
    assert.equal(encodeLine(asBytes), encodeLine(asString));
    assert.equal(encodeLine(asString), 't9:"héllo 😀"');
  });

  test("encoded batches own their whole ArrayBuffer", () => {
    const bin = encodeBatch([
      { type: PING, seq: 0, code: 0, data: new Uint8Array([1, 2]) },
      { type: ACK, seq: 300, code: 0, data: "" },
    ]);
    assert.equal(toHex(bin), "05020102" + "0402ac02");
    assert.ok(bin.buffer instanceof ArrayBuffer);
    assert.equal(bin.byteOffset, 0);
    assert.equal(bin.byteLength, bin.buffer.byteLength);
  });

  test("a leading byte order mark is payload, not stripped", () => {
    const f: Frame = { type: TEXT, seq: 1, code: 0, data: "\ufeffx" };
    assert.equal(toHex(encodeFrame(f)), "0205" + "01" + "efbbbf78");
    assert.deepEqual(decodeAll(encodeFrame(f)).map(show), [show(f)]);
    assert.deepEqual(show(decodeLine(encodeLine(f))), show(f));
  });

  test("numbers up to 2^53-1 and not beyond", () => {
    const max: Frame = { type: ACK, seq: MAX_SAFE, code: 0, data: new Uint8Array(0) };
    assert.equal(toHex(encodeFrame(max)), "0408" + "ffffffffffffff0f");
    assert.deepEqual(decodeAll(encodeFrame(max)).map(show), [show(max)]);
    assertWireError(() => decodeBatch(fromHex("0408" + "ffffffffffffff10"), () => {}), "malformed", "ACK 2^53");
    assert.equal(decodeLine("a9007199254740991").seq, MAX_SAFE);
    assertWireError(() => decodeLine("a9007199254740992"), "malformed", "text ACK 2^53");
    assertWireError(() => decodeLine("a01"), "malformed", "leading zero");
    assertWireError(() => decodeLine("a-1"), "malformed", "sign");
    assertWireError(() => decodeLine("a"), "malformed", "empty number");
  });

  test("a 1 MiB message streams through 64 KiB chunks of any alignment", () => {
    const r = rng(7);
    const big = Uint8Array.from({ length: 1 << 20 }, () => r(256));
    const text = "ü".repeat(300_000);
    const frames: Frame[] = [
      { type: BINARY, seq: 1, code: 0, data: big },
      { type: TEXT, seq: 2, code: 0, data: text },
      { type: ACK, seq: 5, code: 0, data: new Uint8Array(0) },
    ];
    const bin = encodeBatch(frames);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bin.length; at += 65_521) chunks.push(bin.subarray(at, at + 65_521));
    const got = decodeChunks(chunks);
    assert.equal(got.length, 3);
    assert.deepEqual(got[0]?.data, big);
    assert.equal(got[1]?.data, text);
    assert.equal(got[2]?.seq, 5);
    // The text form carries the same frames (base64, JSON string).
    const lines: Frame[] = [];
    decodeTextBody(encodeTextBody(frames), (f) => lines.push(f));
    assert.deepEqual(lines[0]?.data, big);
    assert.equal(lines[1]?.data, text);
  });

  test("Decoder: frames are delivered as they complete; end reports a cut frame", () => {
    const d = decoder();
    const got: number[] = [];
    const two = encodeBatch([
      { type: TEXT, seq: 1, code: 0, data: "a" },
      { type: TEXT, seq: 2, code: 0, data: "b" },
    ]);
    d.push(two.subarray(0, 5), (f) => got.push(f.seq));
    assert.deepEqual(got, [1]);
    assert.equal(d.pending, 1);
    assertWireError(() => d.end(), "truncated", "end inside a frame");
    d.push(two.subarray(5), (f) => got.push(f.seq));
    assert.deepEqual(got, [1, 2]);
    assert.equal(d.pending, 0);
    d.end();
  });

  test("decoders report frames before the bad one, and fn's errors pass through", () => {
    const good = encodeFrame({ type: ACK, seq: 3, code: 0, data: "" });
    const bad = concat([good, fromHex("0800")]);
    const seen: number[] = [];
    assertWireError(() => decodeBatch(bad, (f) => seen.push(f.seq)), "malformed", "batch");
    assert.deepEqual(seen, [3]);
    const d = decoder();
    assertWireError(() => d.push(bad, (f) => seen.push(f.seq)), "malformed", "stream");
    assert.deepEqual(seen, [3, 3]);
    const stop = new Error("stop");
    assert.throws(() =>
      decodeBatch(good, () => {
        throw stop;
      }),
    (e: unknown) => e === stop);
    assert.throws(() =>
      decodeTextBody("a1\n", () => {
        throw stop;
      }),
    (e: unknown) => e === stop);
  });

  test("impossible headers are malformed at once, without waiting for the body", () => {
    const early: [string, string][] = [
      ["00ffffffffffffff80", "length uvarint with a continuation bit on its 8th byte"],
      ["0409", "ACK body of 9 bytes"],
      ["0400", "ACK body of 0 bytes"],
      ["0200", "TEXT body of 0 bytes"],
      ["057e", "PING payload of 126 bytes"],
      ["0701", "CLOSE body of 1 byte"],
      ["077e", "CLOSE body of 126 bytes"],
    ];
    for (const [hex, what] of early) {
      assertWireError(() => decoder().push(fromHex(hex), () => {}), "malformed", what);
    }
    // The largest possible lengths still wait for their body.
    for (const hex of ["00ffffffffffffff0f", "0408", "057d", "077d"]) {
      const d = decoder();
      d.push(fromHex(hex), () => {});
      assertWireError(() => d.end(), "truncated", hex);
    }
  });

  test("text errors are reported in Go's order", () => {
    assertWireError(() => decodeLine('c70000:"\\ud800"'), "malformed", "code above 65535 before the reason");
    assertWireError(() => decodeLine('c999:"\\ud800"'), "utf8", "reason before the code's validity");
    assertWireError(() => decodeLine('c999:"ok"'), "malformed", "invalid code");
    assertWireError(() => decodeLine('t1:"\\udc00\\udc00"'), "utf8", "two low surrogates");
    assertWireError(() => decodeLine('t1:"\\ud800\\u0041"'), "utf8", "high surrogate then a non-surrogate");
    assertWireError(() => decodeLine('t1:"\\uzzzz\\ud800"'), "malformed", "bad escape first");
    assertWireError(() => decodeLine('o{"v":1}\r'), "malformed", "CR in an OPEN line");
    assertWireError(() => decodeLine(" \r"), "malformed", "CR in a PAD line");
    assertWireError(() => decodeLine("t0:\"\\ud800\""), "malformed", "seq 0 before the payload");
  });

  test("WireError close codes", () => {
    assert.equal(new WireError("utf8").closeCode, 1007);
    assert.equal(new WireError("malformed").closeCode, 1002);
    assert.equal(new WireError("truncated").closeCode, 1002);
  });

  test("validCloseCode", () => {
    const valid = [1000, 1001, 1002, 1003, 1007, 1010, 1014, 3000, 4000, 4999];
    const invalid = [0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535];
    for (const c of valid) assert.ok(validCloseCode(c), String(c));
    for (const c of invalid) assert.ok(!validCloseCode(c), String(c));
  });

  test("text form: unpaired surrogates in the line are invalid UTF-8", () => {
    assertWireError(() => decodeLine('t1:"a\ud800"'), "utf8", "raw high surrogate");
    assertWireError(() => decodeLine('t1:"\udc00b"'), "utf8", "raw low surrogate");
    assertWireError(() => decodeLine('c1000:"\ud83d"'), "utf8", "reason");
    assertWireError(() => decodeLine('o{"x":"\udfff"}'), "utf8", "OPEN");
    assert.equal(decodeLine('t1:"\ud83d\ude00"').data, "😀");
    assert.equal(decodeLine('o{"x":"\ud83d\ude00"}').data, '{"x":"😀"}');
    assert.equal(decodeLine(" \ud800").type, PAD, "PAD content is not checked");
  });

  test("CLOSE reason limit counts UTF-8 bytes", () => {
    const ok = "é".repeat(61) + "x"; // 123 bytes
    assert.equal(decodeLine("c1000:" + JSON.stringify(ok)).data, ok);
    assertWireError(() => decodeLine("c1000:" + JSON.stringify(ok + "x")), "malformed", "124 bytes");
    assertWireError(() => decodeLine("c1000:" + JSON.stringify("😀".repeat(31))), "malformed", "124 bytes of pairs");
  });
});

describe("parseOpen", () => {
  const base = {
    v: 1,
    sid: "n1-abc",
    token: "tok",
    transport: "websocket",
    protocol: "chat",
    resumed: true,
    ack: 4,
    ping: 25000,
    timeout: 60000,
    resume: 30000,
    maxMessage: 1048576,
    maxBody: 1114112,
  };

  test("reads every member and ignores unknown ones", () => {
    assert.deepEqual(parseOpen(JSON.stringify({ ...base, future: { x: [1] } })), base);
  });

  test("missing and null members keep their zero values", () => {
    assert.deepEqual(parseOpen('{"v":1,"sid":"s","token":"t","protocol":null}'), {
      v: 1,
      sid: "s",
      token: "t",
      transport: "",
      protocol: "",
      resumed: false,
      ack: 0,
      ping: 0,
      timeout: 0,
      resume: 0,
      maxMessage: 0,
      maxBody: 0,
    });
  });

  const bad: [string, string][] = [
    ["not JSON", "{"],
    ["trailing data", JSON.stringify(base) + "x"],
    ["array", "[]"],
    ["null", "null"],
    ["string", '"x"'],
    ["version 2", JSON.stringify({ ...base, v: 2 })],
    ["version missing", JSON.stringify({ ...base, v: undefined })],
    ["version as string", JSON.stringify({ ...base, v: "1" })],
    ["sid empty", JSON.stringify({ ...base, sid: "" })],
    ["token missing", JSON.stringify({ ...base, token: undefined })],
    ["sid a number", JSON.stringify({ ...base, sid: 5 })],
    ["resumed a string", JSON.stringify({ ...base, resumed: "true" })],
    ["ack negative", JSON.stringify({ ...base, ack: -1 })],
    ["ack fractional", JSON.stringify({ ...base, ack: 1.5 })],
    ["ping a string", JSON.stringify({ ...base, ping: "25000" })],
    ["maxBody above 2^53-1", JSON.stringify({ ...base, maxBody: 2 ** 60 })],
  ];
  for (const [name, json] of bad) {
    test("rejects " + name, () => assertWireError(() => parseOpen(json), "malformed", name));
  }
});
