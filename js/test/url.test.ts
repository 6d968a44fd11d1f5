// Tests of js/src/url.ts: URL resolution and the argument checks of the WebSocket API,
// with the DOMException names the native API throws.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { closeArgs, endpoint, protocolList } from "../src/url.js";

// Asserts that fn throws a DOMException named name.
export function throwsDOM(fn: () => unknown, name: string): void {
  assert.throws(fn, (e: unknown) => e instanceof DOMException && e.name === name, "want DOMException " + name);
}

describe("endpoint", () => {
  test("ws, wss, http, https and relative forms name the same endpoint", () => {
    assert.deepEqual(endpoint("ws://h.example/rt"), ["ws://h.example/rt", "http://h.example/rt"]);
    assert.deepEqual(endpoint("http://h.example/rt"), ["ws://h.example/rt", "http://h.example/rt"]);
    assert.deepEqual(endpoint("wss://h.example:8443/rt?room=1"), ["wss://h.example:8443/rt?room=1", "https://h.example:8443/rt?room=1"]);
    assert.deepEqual(endpoint("https://h.example/rt"), ["wss://h.example/rt", "https://h.example/rt"]);
    assert.deepEqual(endpoint("/rt?x=1", "https://h.example/app/page.html"), ["wss://h.example/rt?x=1", "https://h.example/rt?x=1"]);
    assert.deepEqual(endpoint("rt", "http://h.example/app/"), ["ws://h.example/app/rt", "http://h.example/app/rt"]);
    assert.deepEqual(endpoint(new URL("HTTP://H.EXAMPLE:80/rt")), ["ws://h.example/rt", "http://h.example/rt"]);
  });
  test("other schemes, fragments and unparsable URLs are a SyntaxError", () => {
    for (const u of ["ftp://h.example/rt", "file:///rt", "javascript:alert(1)", "ws://h.example/rt#", "ws://h.example/rt#x", "http://[::1", "/rt", ""]) {
      throwsDOM(() => endpoint(u), "SyntaxError");
    }
    throwsDOM(() => endpoint("/rt#frag", "http://h.example/"), "SyntaxError");
  });
});

describe("protocolList", () => {
  test("a string or a list of distinct tokens", () => {
    assert.deepEqual(protocolList(), []);
    assert.deepEqual(protocolList([]), []);
    assert.deepEqual(protocolList("chat"), ["chat"]);
    assert.deepEqual(protocolList(["chat", "Chat", "v2.json", "a!#$%&'*+-.^_`|~z"]), ["chat", "Chat", "v2.json", "a!#$%&'*+-.^_`|~z"]);
  });
  test("repeats and non-tokens are a SyntaxError", () => {
    for (const p of [["chat", "chat"], [""], ["a b"], ["a,b"], ["é"], ["a/b"], ['"a"']]) throwsDOM(() => protocolList(p), "SyntaxError");
    throwsDOM(() => protocolList(""), "SyntaxError");
  });
});

describe("closeArgs", () => {
  test("1000 and 3000–4999 are allowed, as in browsers", () => {
    assert.deepEqual(closeArgs(), [0, ""]);
    assert.deepEqual(closeArgs(1000), [1000, ""]);
    assert.deepEqual(closeArgs(3000, "x"), [3000, "x"]);
    assert.deepEqual(closeArgs(4999, ""), [4999, ""]);
    assert.deepEqual(closeArgs(undefined, "why"), [1000, "why"], "a reason without a code sends 1000");
  });
  test("any other code is an InvalidAccessError", () => {
    for (const c of [0, 999, 1001, 1002, 1005, 1006, 1011, 2999, 5000, 65535, NaN]) throwsDOM(() => closeArgs(c), "InvalidAccessError");
  });
  test("a reason over 123 bytes of UTF-8 is a SyntaxError", () => {
    assert.deepEqual(closeArgs(1000, "a".repeat(123)), [1000, "a".repeat(123)]);
    throwsDOM(() => closeArgs(1000, "a".repeat(124)), "SyntaxError");
    assert.equal(closeArgs(1000, "é".repeat(61) + "a")[1].length, 62); // 123 bytes
    throwsDOM(() => closeArgs(1000, "é".repeat(62)), "SyntaxError"); // 124 bytes
    throwsDOM(() => closeArgs(3000, "😀".repeat(31)), "SyntaxError"); // 124 bytes
  });
  test("the code is checked before the reason", () => {
    throwsDOM(() => closeArgs(1001, "a".repeat(200)), "InvalidAccessError");
  });
});
