// Runs inside the Chromium page (added by helpers.mjs openPage to a document of the test
// server's origin): window.runScenario(spec) opens two sessions to the polysock test server
// (js/test/server) and returns what arrived, for the Node test to assert on.
//
// spec: { ctor: "PolySock" | "WebSocket", url, options }
//
// Session 1: "transport" (the server names the session's transport), "hello", a unicode
// text holding every Unicode scalar value of the BMP plus astral ones, an ArrayBuffer with
// the bytes 0..255 (received as a Blob, the default binaryType), then with binaryType
// "arraybuffer" a Blob followed at once by a text (the Blob keeps its place), 200
// messages sent back to back (echoed in order), "burst:200" (the server sends "0".."199"),
// and close(3001, reason) from the page (the server's answer echoes code and reason).
// Session 2: "close:4321:<reason>", the server closes the session.
"use strict";

(() => {
  const GUARD = 20000; // a hang guard per wait, not a timing assertion
  const log = (...a) => {
    const el = document.getElementById("log");
    if (el) el.textContent += a.join(" ") + "\n";
  };

  // Every Unicode scalar value of the BMP except the surrogates (U+0000..U+D7FF,
  // U+E000..U+FFFF), then a few astral characters: the text forms (SSE, XHR text) must
  // carry NUL, CR, LF, U+2028/9, BOM and U+FFFF unharmed.
  const unicodeText = () => {
    const parts = [];
    for (let c = 0; c <= 0xffff; c++) if (c < 0xd800 || c > 0xdfff) parts.push(String.fromCharCode(c));
    return parts.join("") + "😀 𝄞 \u{10FFFF} 漢字 </script>";
  };

  // One socket with its events recorded and a bounded wait for the next message or close.
  function open(spec) {
    const C = spec.ctor === "WebSocket" ? window.WebSocket : window.PolySock;
    const ws = new C(spec.url, [], spec.options);
    const rec = { events: [], messages: [], close: null, errors: 0, openState: -1, ws };
    let wake = () => {};
    const note = (type, e) => {
      rec.events.push(type + "@" + ws.readyState);
      if (type === "open") rec.openState = ws.readyState;
      if (type === "error") rec.errors++;
      if (type === "message") rec.messages.push(e.data);
      if (type === "close") rec.close = { code: e.code, reason: e.reason, wasClean: e.wasClean, state: ws.readyState };
      wake();
    };
    // PolySock's transport event too: a session that stays on its carrier fires none.
    for (const t of ["open", "message", "error", "close", "transport"]) ws.addEventListener(t, (e) => note(t, e));
    rec.until = (what, cond) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("gave up waiting for " + what + "; events " + rec.events.slice(-5).join(" "))), GUARD);
        const check = () => {
          if (cond()) {
            clearTimeout(timer);
            wake = () => {};
            resolve();
          } else if (rec.close && what !== "close") {
            clearTimeout(timer);
            reject(new Error("closed while waiting for " + what + ": " + JSON.stringify(rec.close)));
          }
        };
        wake = check;
        check();
      });
    rec.take = async (n) => {
      await rec.until(n + " messages", () => rec.messages.length >= n);
      return rec.messages.splice(0, n);
    };
    return rec;
  }

  // A received message as JSON-safe data: text as is, binary as its kind and bytes.
  const describe = async (d) =>
    typeof d === "string"
      ? d
      : d instanceof Blob
        ? { kind: "Blob", bytes: [...new Uint8Array(await d.arrayBuffer())] }
        : d instanceof ArrayBuffer
          ? { kind: "ArrayBuffer", bytes: [...new Uint8Array(d)] }
          : { kind: Object.prototype.toString.call(d) };

  window.runScenario = async (spec) => {
    const out = {};
    const s = open(spec);
    out.isPolySock = s.ws instanceof window.PolySock;
    out.constructedState = s.ws.readyState;
    out.url = s.ws.url;
    await s.until("open", () => s.openState >= 0);
    out.openState = s.openState;
    out.protocol = s.ws.protocol;
    out.defaultBinaryType = s.ws.binaryType;
    log("open", spec.ctor, spec.url);

    s.ws.send("transport");
    out.transport = (await s.take(1))[0];
    log("transport", out.transport);

    s.ws.send("hello");
    out.hello = (await s.take(1))[0];

    const uni = unicodeText();
    s.ws.send(uni);
    const uniBack = (await s.take(1))[0];
    out.unicodeLength = uni.length;
    out.unicodeSame = uniBack === uni;
    out.unicodeFirstDiff = -1;
    if (!out.unicodeSame && typeof uniBack === "string")
      for (let i = 0; i < Math.max(uni.length, uniBack.length); i++)
        if (uni[i] !== uniBack[i]) {
          out.unicodeFirstDiff = i;
          break;
        }
    log("unicode", uni.length, "chars", out.unicodeSame ? "same" : "DIFFERENT");

    const all = new Uint8Array(256).map((_, i) => i);
    s.ws.send(all.buffer);
    out.binaryAsBlob = await describe((await s.take(1))[0]);

    s.ws.binaryType = "arraybuffer";
    out.binaryTypeAfterSet = s.ws.binaryType;
    const blobBytes = new Uint8Array(300).map((_, i) => 255 - (i % 256));
    s.ws.send(new Blob([blobBytes, "tail"]));
    s.ws.send("after the blob");
    const [fromBlob, after] = await s.take(2);
    out.blobAsArrayBuffer = await describe(fromBlob);
    out.afterBlob = after;
    log("binary ok");

    for (let i = 0; i < 200; i++) s.ws.send("m" + i);
    out.ordered = await s.take(200);
    s.ws.send("burst:200");
    out.burst = await s.take(200);
    log("ordered", out.ordered.length, "burst", out.burst.length);

    s.ws.close(3001, "bye from the page ✓");
    out.stateAfterClose = s.ws.readyState;
    await s.until("close", () => s.close);
    out.pageClose = s.close;
    out.session1Events = s.events.filter((e) => !e.startsWith("message")).concat(["messages:" + s.events.filter((e) => e.startsWith("message")).length]);
    out.session1Errors = s.errors;
    log("closed", JSON.stringify(s.close));

    const s2 = open(spec);
    await s2.until("open", () => s2.openState >= 0);
    s2.ws.send("close:4321:server says bye ✓");
    await s2.until("close", () => s2.close);
    out.serverClose = s2.close;
    out.session2Errors = s2.errors;
    out.session2Messages = s2.messages.length;
    log("server closed", JSON.stringify(s2.close));
    return out;
  };
})();
