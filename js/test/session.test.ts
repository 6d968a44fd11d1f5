// Tests of the session logic of js/src/polysock.ts, independent of the carrier: numbering,
// the replay buffer, ACKs (piggybacked, at most 100 ms late, at once after 64 messages),
// duplicates and gaps, PING answers and the close handshake in both directions. The
// session is a PolySock that does not connect: Recorder records what the session asks of
// the carrier and the page (kick) and the events it fires (message, error, close);
// time is Node's mock clock.
import assert from "node:assert/strict";
import { beforeEach, describe, mock, test } from "node:test";

import { PolySock } from "../src/polysock.js";
import { ACK, BINARY, CLOSE, PING, PONG, TEXT, type Frame, type OutFrame } from "../src/wire.js";

// The session's documented limits: how long an ACK may wait (PROTOCOL.md section 6 rule 3),
// how many unacknowledged messages make it immediate, and how long our CLOSE waits for the
// answer (PROTOCOL.md 9), ms.
const ACK_DELAY = 100;
const ACK_COUNT = 64;
const CLOSE_TIMEOUT = 5000;

class Recorder extends PolySock {
  kicks = 0;
  msgs: (string | Uint8Array)[] = [];
  ends: [number, string, boolean, boolean][] = [];
  constructor() {
    super("ws://127.0.0.1:1/rt", [], { remember: 0 });
    this.binaryType = "arraybuffer";
    this.addEventListener("message", (e) => this.msgs.push(typeof e.data == "string" ? e.data : new Uint8Array(e.data as ArrayBuffer)));
    let error = false;
    this.addEventListener("error", () => (error = true));
    this.addEventListener("close", (e) => this.ends.push([e.code, e.reason, e.wasClean, error]));
  }
  // No carrier: the session alone.
  override _next(): void {}
  override _kick(): void {
    this.kicks++;
  }
}

const enc = new TextEncoder();
const text = (seq: number, data: string): Frame => ({ type: TEXT, seq, code: 0, data });
const bin = (seq: number, ...b: number[]): Frame => ({ type: BINARY, seq, code: 0, data: new Uint8Array(b) });
const ack = (n: number): Frame => ({ type: ACK, seq: n, code: 0, data: new Uint8Array(0) });
const close = (code: number, reason: string): Frame => ({ type: CLOSE, seq: 0, code, data: reason });
// A batch as [type, seq, payload as text] rows, easy to compare.
const rows = (b: OutFrame[]) => b.map((f) => [f.type, f.type == CLOSE ? f.code : f.seq, typeof f.data == "string" ? f.data : new TextDecoder().decode(f.data)]);

let h: Recorder;
let s: Recorder;
beforeEach(() => {
  h = s = new Recorder();
});

describe("sending", () => {
  test("messages are numbered from 1 and kept until acknowledged", () => {
    s._push(true, enc.encode("a"));
    s._push(false, enc.encode("bc"));
    assert.equal(h.kicks, 2);
    assert.equal(s._queued, 3);
    assert.deepEqual(rows(s._take(1 << 20)), [
      [TEXT, 1, "a"],
      [BINARY, 2, "bc"],
    ]);
    assert.equal(s._queued, 0);
    assert.deepEqual(s._take(1 << 20), [], "nothing new");
    s._push(true, enc.encode("d"));
    s._receive(ack(1));
    assert.equal(s._buf.length, 2, "message 1 left the replay buffer");
    assert.deepEqual(rows(s._take(1 << 20)), [[TEXT, 3, "d"]]);
  });
  test("after a lost batch, _rewind sends again from the last ACK + 1, with the ACK", () => {
    s._receive(text(1, "in"));
    for (const m of ["a", "b", "c"]) s._push(true, enc.encode(m));
    assert.deepEqual(rows(s._take(1 << 20)), [
      [ACK, 1, ""],
      [TEXT, 1, "a"],
      [TEXT, 2, "b"],
      [TEXT, 3, "c"],
    ]);
    s._receive(ack(1));
    s._rewind();
    assert.deepEqual(rows(s._take(1 << 20)), [
      [ACK, 1, ""],
      [TEXT, 2, "b"],
      [TEXT, 3, "c"],
    ]);
  });
  test("batches stop near max bytes but always carry a message", () => {
    for (let i = 0; i < 4; i++) s._push(false, new Uint8Array(100));
    assert.deepEqual(
      s._take(250).map((f) => f.seq),
      [1, 2],
    );
    assert.deepEqual(
      s._take(10).map((f) => f.seq),
      [3],
    );
    assert.deepEqual(
      s._take(1 << 20).map((f) => f.seq),
      [4],
    );
  });
  test("a Blob is read before it is sent; later messages wait for it", async () => {
    s._push(true, enc.encode("1"));
    s._push(false, new Blob([enc.encode("blob")]));
    s._push(true, enc.encode("3"));
    assert.equal(s._queued, 6);
    assert.deepEqual(rows(s._take(1 << 20)), [[TEXT, 1, "1"]]);
    const kicks = h.kicks;
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(h.kicks > kicks, "kicked once read");
    assert.deepEqual(rows(s._take(1 << 20)), [
      [BINARY, 2, "blob"],
      [TEXT, 3, "3"],
    ]);
  });
  test("an ACK beyond the last message is a protocol error (1002)", () => {
    s._push(true, enc.encode("a"));
    s._receive(ack(2));
    assert.deepEqual(h.ends, [[1002, "ack", false, true]]);
  });
  test("a lower ACK than one received is ignored", () => {
    for (const m of ["a", "b"]) s._push(true, enc.encode(m));
    s._take(1 << 20);
    s._receive(ack(2));
    s._receive(ack(1));
    assert.equal(s._acked, 2);
    assert.deepEqual(h.ends, []);
  });
});

describe("receiving", () => {
  test("in order, duplicates dropped, a gap is a protocol error", () => {
    s._receive(text(1, "a"));
    s._receive(bin(2, 1, 2));
    s._receive(text(1, "a again"));
    s._receive(bin(2, 9));
    assert.deepEqual(h.msgs, ["a", new Uint8Array([1, 2])]);
    assert.equal(s._acc, 2);
    s._receive(text(4, "gap"));
    assert.deepEqual(h.ends, [[1002, "gap", false, true]]);
    s._receive(text(3, "after the end"));
    assert.equal(h.msgs.length, 2, "nothing after the end");
  });
  test("an ACK goes out within 100 ms, or piggybacks on the next batch", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    s._receive(text(1, "a"));
    assert.equal(h.kicks, 0, "not at once");
    t.mock.timers.tick(ACK_DELAY - 1);
    assert.equal(h.kicks, 0);
    t.mock.timers.tick(1);
    assert.equal(h.kicks, 1, "due after 100 ms");
    assert.deepEqual(rows(s._take(1 << 20)), [[ACK, 1, ""]]);
    assert.deepEqual(s._take(1 << 20), [], "sent once");

    s._receive(text(2, "b"));
    s._push(true, enc.encode("x"));
    assert.deepEqual(rows(s._take(1 << 20)), [
      [ACK, 2, ""],
      [TEXT, 1, "x"],
    ]);
    const kicks = h.kicks;
    t.mock.timers.tick(ACK_DELAY * 2);
    assert.equal(h.kicks, kicks, "the piggybacked ACK cancelled the timer");
  });
  test("64 unacknowledged messages make the ACK immediate", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    for (let i = 1; i < ACK_COUNT; i++) s._receive(text(i, String(i)));
    assert.equal(h.kicks, 0);
    s._receive(text(ACK_COUNT, "last"));
    assert.equal(h.kicks, 1);
    assert.deepEqual(rows(s._take(1 << 20)), [[ACK, ACK_COUNT, ""]]);
  });
  test("a GET carrying ps_ack counts as the ACK", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    s._receive(text(1, "a"));
    s._acking(s._acc);
    t.mock.timers.tick(ACK_DELAY * 2);
    assert.equal(h.kicks, 0);
    assert.deepEqual(s._take(1 << 20), []);
  });
  test("each PING is answered with a PONG of the same payload", () => {
    s._receive({ type: PING, seq: 0, code: 0, data: new Uint8Array([7]) });
    s._receive({ type: PING, seq: 0, code: 0, data: new Uint8Array([]) });
    assert.equal(h.kicks, 2);
    assert.deepEqual(
      s._take(1 << 20).map((f) => [f.type, [...(f.data as Uint8Array)]]),
      [
        [PONG, [7]],
        [PONG, []],
      ],
    );
    assert.deepEqual(s._take(1 << 20), []);
  });
});

describe("closing", () => {
  test("our CLOSE follows every queued message; the answer ends the session cleanly", () => {
    s._push(true, enc.encode("last"));
    s._close(3001, "bye");
    s._push(true, enc.encode("too late"));
    assert.deepEqual(rows(s._take(1 << 20)), [
      [TEXT, 1, "last"],
      [CLOSE, 3001, "bye"],
    ]);
    s._written();
    assert.deepEqual(h.ends, [], "waits for the answer");
    s._receive(text(1, "the server's last"));
    s._receive(close(3001, "bye"));
    assert.deepEqual(h.msgs, ["the server's last"]);
    assert.deepEqual(h.ends, [[3001, "bye", true, false]]);
  });
  test("a CLOSE without code is reported as 1005", () => {
    s._close(0, "");
    assert.deepEqual(rows(s._take(1 << 20)), [[CLOSE, 0, ""]]);
    s._receive(close(0, ""));
    assert.deepEqual(h.ends, [[1005, "", true, false]]);
  });
  test("an unanswered CLOSE ends the session uncleanly after the close timeout", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    s._close(1000, "");
    s._take(1 << 20);
    t.mock.timers.tick(CLOSE_TIMEOUT - 1);
    assert.deepEqual(h.ends, []);
    t.mock.timers.tick(1);
    assert.deepEqual(h.ends, [[1006, "timeout", false, false]]);
  });
  test("the peer's CLOSE is echoed after our queued messages and ends the session once written", () => {
    s._push(true, enc.encode("mine"));
    s._receive(text(1, "theirs"));
    s._receive(close(4321, "server bye"));
    s._receive(text(2, "after CLOSE"));
    assert.equal(s.readyState, PolySock.CLOSING, "the peer is closing");
    assert.deepEqual(h.msgs, ["theirs"]);
    assert.deepEqual(rows(s._take(1 << 20)), [
      [ACK, 1, ""],
      [TEXT, 1, "mine"],
      [CLOSE, 4321, "server bye"],
    ]);
    assert.deepEqual(h.ends, []);
    s._written();
    assert.deepEqual(h.ends, [[4321, "server bye", true, false]]);
  });
  test("when both close at once, our queued CLOSE serves as the answer", () => {
    s._close(3000, "mine");
    s._receive(close(1000, "theirs"));
    assert.deepEqual(rows(s._take(1 << 20)), [[CLOSE, 3000, "mine"]]);
    s._written();
    assert.deepEqual(h.ends, [[1000, "theirs", true, false]]);
  });
  test("_end ends once and stops the timers", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    s._receive(text(1, "a"));
    s._close(1000, "");
    s._take(1 << 20);
    s._end(1006, "lost", false, true);
    s._end(1000, "again", true);
    t.mock.timers.tick(CLOSE_TIMEOUT * 2);
    assert.deepEqual(h.ends, [[1006, "lost", false, true]]);
  });
});

void mock;

describe("resume bookkeeping", () => {
  test("a new carrier: the server's ack trims, the rest is sent again in order, numbered as before", () => {
    for (const m of ["a", "b", "c", "d"]) s._push(true, enc.encode(m));
    assert.deepEqual(rows(s._take(1 << 20)).map((r) => r[1]), [1, 2, 3, 4]);
    // The carrier is lost; the resumed OPEN says the server accepted 2.
    s._ack(2);
    s._rewind();
    s._push(true, enc.encode("e"));
    assert.deepEqual(rows(s._take(1 << 20)), [
      [TEXT, 3, "c"],
      [TEXT, 4, "d"],
      [TEXT, 5, "e"],
    ]);
    // An OPEN ack below an ACK already taken (a delayed carrier) changes nothing.
    s._ack(4);
    s._ack(3);
    assert.equal(s._acked, 4);
    assert.equal(s._buf.length, 1);
  });

  test("bufferedAmount's share: bytes never taken; a replay after a rewind does not count again", () => {
    s._push(true, enc.encode("abc"));
    s._push(false, new Uint8Array(5));
    assert.deepEqual([s._queued, s._bytes], [8, 8]);
    s._take(1 << 20);
    assert.deepEqual([s._queued, s._bytes], [0, 8], "taken, not acknowledged: kept for a replay");
    s._rewind();
    s._push(true, enc.encode("zz"));
    assert.deepEqual([s._queued, s._bytes], [2, 10]);
    s._take(1 << 20);
    assert.deepEqual([s._queued, s._bytes], [0, 10]);
    s._ack(3);
    assert.deepEqual([s._queued, s._bytes], [0, 0], "acknowledged: gone");
  });

  test("messages the peer sends again after a resume are dropped; the ACK is repeated", () => {
    s._receive(text(1, "x"));
    s._receive(text(2, "y"));
    assert.deepEqual(rows(s._take(1 << 20)), [[ACK, 2, ""]]);
    s._rewind(); // a new carrier: its GET carried ps_ack, or the ACK goes again
    s._receive(text(1, "x"));
    s._receive(text(2, "y"));
    s._receive(text(3, "z"));
    assert.deepEqual(h.msgs, ["x", "y", "z"]);
    assert.deepEqual(rows(s._take(1 << 20)), [[ACK, 3, ""]]);
    s._receive(text(5, "gap"));
    assert.deepEqual(h.ends, [[1002, "gap", false, true]], "a gap is never passed on");
  });

  test("our CLOSE not yet answered is sent again after the replay on the next carrier", () => {
    s._push(true, enc.encode("last"));
    s._close(1000, "bye");
    assert.deepEqual(rows(s._take(1 << 20)), [
      [TEXT, 1, "last"],
      [CLOSE, 1000, "bye"],
    ]);
    s._rewind();
    assert.deepEqual(rows(s._take(1 << 20)), [
      [TEXT, 1, "last"],
      [CLOSE, 1000, "bye"],
    ]);
  });
});
