// The drop-in browser client (js/dist/polysock.js, as the Go server embeds and serves it at
// /rt/polysock.js) in real headless Chromium against the real Go test server
// (js/test/server), for what Node cannot run: the stream read with XHR and with the
// browser's own EventSource, long-polling over XHR where fetch is missing, the native
// WebSocket of a browser, and the polyfill switch of the script tag. The fetch stream and
// fetch polling run here too, for the full matrix.
//
// Each scenario (scenario.js) runs two sessions and asserts what arrived: the transport the
// server reports, text, every BMP scalar value plus astral characters, the bytes 0..255 as
// a Blob, a Blob sent as binary and received as an ArrayBuffer keeping its place, 200
// messages each way in order, the page's close(3001, reason) answered by the server's echo
// of code and reason, and a close started by the server (4321). The transport is checked
// three ways: the server's answer to "transport", the client's debug log, and the
// requests Chromium made (resource type and ps_t/ps_e of each endpoint request).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GUARD, endpointRequests, launchBrowser, openPage, repoRoot, screenshot, startServer } from './helpers.mjs';

let server, killer, browser, ws;

before(async () => {
  // A small stream byte limit: stream responses are recycled while the scenarios run.
  server = await startServer('-stream-max', '2048');
  ws = server.url.replace(/^http/, 'ws');
  // A middlebox that accepts the WebSocket upgrade, then drops the connection.
  killer = await startServer('-websocket', 'kill');
  browser = await launchBrowser();
}, { timeout: 300000 });

after(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([server?.stop(), killer?.stop()]);
});

const opts = { timeout: GUARD * 3 };
const bytes = (n, f) => Array.from({ length: n }, (_, i) => f(i));
const tailBytes = [...new TextEncoder().encode('tail')];

// Runs spec in a fresh page and checks everything that must hold on every transport.
async function run(name, spec, pageOpts, transport, srv = server) {
  const { context, page, rec } = await openPage(browser, srv.origin, pageOpts);
  try {
    const r = await page.evaluate((s) => window.runScenario(s), spec);

    assert.equal(r.isPolySock, true, 'the socket is a PolySock');
    assert.equal(r.constructedState, 0, 'CONNECTING after the constructor');
    assert.equal(r.url, srv.url.replace(/^http/, 'ws'), 'url is the ws: form of the endpoint');
    assert.equal(r.openState, 1, 'OPEN at the open event');
    assert.equal(r.protocol, '');
    assert.equal(r.defaultBinaryType, 'blob');
    assert.equal(r.transport, transport, 'the server reports the transport');
    assert.equal(r.hello, 'hello');
    assert.equal(r.unicodeSame, true, `unicode text came back intact (first difference at ${r.unicodeFirstDiff})`);
    assert.equal(r.unicodeLength, 0x10000 - 0x800 + 21);
    assert.deepEqual(r.binaryAsBlob, { kind: 'Blob', bytes: bytes(256, (i) => i) });
    assert.equal(r.binaryTypeAfterSet, 'arraybuffer');
    assert.deepEqual(r.blobAsArrayBuffer, { kind: 'ArrayBuffer', bytes: [...bytes(300, (i) => 255 - (i % 256)), ...tailBytes] });
    assert.equal(r.afterBlob, 'after the blob', 'the text sent after the Blob comes after it');
    assert.deepEqual(r.ordered, bytes(200, (i) => 'm' + i));
    assert.deepEqual(r.burst, bytes(200, (i) => String(i)));
    assert.equal(r.stateAfterClose, 2, 'CLOSING after close()');
    assert.deepEqual(r.pageClose, { code: 3001, reason: 'bye from the page ✓', wasClean: true, state: 3 },
      "the server's answer echoes the page's close code and reason");
    assert.deepEqual(r.session1Events, ['open@1', 'close@3', 'messages:406'], 'no transport event: the session kept its carrier');
    assert.equal(r.session1Errors, 0);
    assert.deepEqual(r.serverClose, { code: 4321, reason: 'server says bye ✓', wasClean: true, state: 3 });
    assert.equal(r.session2Errors, 0);
    assert.equal(r.session2Messages, 0);

    const opened = rec.console.filter((l) => l.startsWith('polysock open '));
    assert.deepEqual(opened.map((l) => l.split(' ')[2]), [transport, transport], 'the debug log names the transport of both sessions');
    assert.deepEqual(rec.pageErrors, [], 'no uncaught errors in the page');
    return { r, rec, page };
  } finally {
    await screenshot(page, name); // also after a failure: the page log shows how far it got
    await context.close().catch(() => {});
  }
}

// What the client asked of the endpoint: GETs of one kind only, POSTs by one API.
function checkHTTP(rec, { type, t, e, postType, minGets, websockets = 0 }, srv = server) {
  const { gets, posts } = endpointRequests(rec, srv.url);
  if (websockets >= 0) assert.equal(rec.websockets.length, websockets, 'WebSockets opened');
  assert.ok(gets.length >= minGets, `at least ${minGets} ${t} GETs, got ${gets.length}`);
  for (const g of gets) assert.deepEqual(g, { type, t, e });
  assert.ok(posts.length >= 2, 'the messages went by POST');
  for (const p of posts) assert.equal(p, postType);
}

const http = (t, stream) => ({ ctor: 'PolySock', url: server.url, options: { transports: [t], stream, remember: 0, debug: true } });

test('the page gets js/dist/polysock.js from the server', opts, async () => {
  const res = await fetch(server.url + '/polysock.js');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/javascript/);
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(repoRoot, 'js/dist/polysock.js'))), 'the served bundle is js/dist/polysock.js');
});

test('websocket: the native WebSocket of the browser', opts, async () => {
  const { rec } = await run('websocket', { ctor: 'PolySock', url: ws, options: { transports: ['websocket'], remember: 0, debug: true } }, {}, 'websocket');
  assert.equal(rec.websockets.length, 2, 'one native WebSocket per session');
  for (const u of rec.websockets) assert.match(u, new RegExp('^' + ws + '\\?ps_v=1(&|$)'));
  assert.deepEqual(endpointRequests(rec, server.url), { gets: [], posts: [] }, 'no HTTP requests to the endpoint');
});

// The stream GETs are recycled by the server after 2 KiB: more than one per session.
test('stream read with fetch', opts, async () => {
  const { rec } = await run('stream-fetch', http('stream', 'fetch'), {}, 'stream');
  checkHTTP(rec, { type: 'fetch', t: 'stream', e: 'bin', postType: 'fetch', minGets: 3 });
});

test("stream read with the browser's EventSource", opts, async () => {
  const { rec } = await run('stream-eventsource', http('stream', 'eventsource'), {}, 'stream');
  checkHTTP(rec, { type: 'eventsource', t: 'stream', e: 'sse', postType: 'fetch', minGets: 3 });
});

test('stream read with XMLHttpRequest', opts, async () => {
  const { rec } = await run('stream-xhr', http('stream', 'xhr'), {}, 'stream');
  checkHTTP(rec, { type: 'xhr', t: 'stream', e: 'text', postType: 'fetch', minGets: 3 });
});

test('poll with fetch', opts, async () => {
  const { rec } = await run('poll-fetch', http('poll', ''), {}, 'poll');
  checkHTTP(rec, { type: 'fetch', t: 'poll', e: 'bin', postType: 'fetch', minGets: 2 });
});

test('poll with XMLHttpRequest where fetch is missing', opts, async () => {
  const initScript = () => {
    delete window.fetch;
  };
  const { rec } = await run('poll-xhr', http('poll', ''), { initScript }, 'poll');
  checkHTTP(rec, { type: 'xhr', t: 'poll', e: 'bin', postType: 'xhr', minGets: 2 });
  assert.deepEqual(rec.requests.filter((r) => r.type === 'fetch'), [], 'nothing went through fetch');
});

// Where fetch is missing the stream is read with EventSource, and without EventSource too
// with XMLHttpRequest (the text form); the POSTs go through XMLHttpRequest.
test('stream where fetch is missing: EventSource, POSTs with XMLHttpRequest', opts, async () => {
  const initScript = () => {
    delete window.fetch;
  };
  const { rec } = await run('stream-nofetch', http('stream', ''), { initScript }, 'stream');
  checkHTTP(rec, { type: 'eventsource', t: 'stream', e: 'sse', postType: 'xhr', minGets: 3 });
});

test('stream where fetch and EventSource are missing: XMLHttpRequest', opts, async () => {
  const initScript = () => {
    delete window.fetch;
    delete window.EventSource;
  };
  const { rec } = await run('stream-nofetch-noeventsource', http('stream', ''), { initScript }, 'stream');
  checkHTTP(rec, { type: 'xhr', t: 'stream', e: 'text', postType: 'xhr', minGets: 3 });
});

// Chromium's WebSocket answered with 101 and then dropped: the client moves on to the
// stream, and the session works there. Once open on the stream, a session probes WebSocket
// in the background once; killed again, WebSocket is avoided for the next 5 minutes. The
// second session may close before its probe is made or fails.
test('automatic choice: a WebSocket killed after the upgrade falls back to the stream', opts, async () => {
  const { rec } = await run('fallback-ws-killed', { ctor: 'PolySock', url: killer.url, options: { remember: 0, debug: true } }, {}, 'stream', killer);
  checkHTTP(rec, { type: 'fetch', t: 'stream', e: 'bin', postType: 'fetch', minGets: 2, websockets: -1 }, killer);
  const fails = rec.console.filter((l) => l.startsWith('polysock fail websocket')).length;
  assert.ok(rec.websockets.length >= 3 && rec.websockets.length <= 4, `3 or 4 WebSockets, got ${rec.websockets.length}`);
  assert.ok(fails >= 3 && fails <= rec.websockets.length, `the debug log shows each failed WebSocket: ${fails}`);
  // The sessions stayed on the stream: run asserts session 1 fired no transport event.
});

test('polyfill: data-polyfill installs PolySock as window.WebSocket where there is none', opts, async () => {
  const initScript = () => {
    delete window.WebSocket;
  };
  const pageOpts = { scriptAttrs: 'data-polyfill data-debug', initScript };
  {
    const { context, page } = await openPage(browser, server.origin, pageOpts);
    try {
      assert.deepEqual(await page.evaluate(() => [typeof window.PolySock, window.WebSocket === window.PolySock]), ['function', true]);
    } finally {
      await context.close();
    }
  }
  // Existing WebSocket code, with a ws: URL, no options: no native WebSocket to try, so the fetch stream.
  const { rec } = await run('polyfill-missing', { ctor: 'WebSocket', url: ws }, pageOpts, 'stream');
  checkHTTP(rec, { type: 'fetch', t: 'stream', e: 'bin', postType: 'fetch', minGets: 3 });
});

test('polyfill: data-polyfill="force" replaces the native WebSocket, which PolySock still uses', opts, async () => {
  const pageOpts = { scriptAttrs: 'data-polyfill="force" data-debug' };
  const { rec } = await run('polyfill-force', { ctor: 'WebSocket', url: ws }, pageOpts, 'websocket');
  assert.equal(rec.websockets.length, 2, 'one native WebSocket per session');
  assert.deepEqual(endpointRequests(rec, server.url), { gets: [], posts: [] });
});

test('polyfill: data-polyfill keeps a native WebSocket', opts, async () => {
  const pageOpts = { scriptAttrs: 'data-polyfill data-debug' };
  const { context, page } = await openPage(browser, server.origin, pageOpts);
  try {
    const r = await page.evaluate(() => ({
      polySock: typeof window.PolySock,
      replaced: window.WebSocket === window.PolySock,
      native: Function.prototype.toString.call(window.WebSocket).includes('[native code]'),
      polyfillAgain: window.PolySock.polyfill(),
      stillNative: Function.prototype.toString.call(window.WebSocket).includes('[native code]'),
    }));
    assert.deepEqual(r, { polySock: 'function', replaced: false, native: true, polyfillAgain: false, stillNative: true });
    await screenshot(page, 'polyfill-native-kept-check');
  } finally {
    await context.close();
  }
  // new PolySock alongside it, with default options: the native WebSocket first.
  const { rec } = await run('polyfill-native-kept', { ctor: 'PolySock', url: server.url }, pageOpts, 'websocket');
  assert.equal(rec.websockets.length, 2);
});

// Live transport switches in the browser, mid-conversation, against a server of their own
// whose WebSocket mode the page changes with the mode command: rounds of 40 messages with
// a command in the middle and a burst of 60 from the server, each checked to arrive
// exactly once and in order; the transport events and the server's view of the transport.
async function switchScenario(name, flags, spec) {
  const srv = await startServer(...flags);
  const { context, page, rec } = await openPage(browser, srv.origin);
  try {
    const r = await page.evaluate(async (spec) => {
      const GUARD = 20000;
      const ps = new PolySock(spec.url, [], spec.options);
      const got = [];
      const events = [];
      const switches = [];
      let wake = () => {};
      ps.onmessage = (e) => {
        got.push(e.data);
        wake();
      };
      for (const t of ['open', 'error', 'close']) ps.addEventListener(t, () => (events.push(t), wake()));
      ps.addEventListener('transport', (e) => (switches.push(e.detail.from + '>' + e.detail.to), wake()));
      const until = (what, cond) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('gave up waiting for ' + what + ': ' + events.join())), GUARD);
          (wake = () => cond() && (clearTimeout(timer), resolve()))();
        });
      const take = async (n) => {
        await until(n + ' messages', () => got.length >= n);
        return got.splice(0, n);
      };
      const round = (tag, command, answer) => {
        const want = [];
        for (let i = 0; i < 40; i++) {
          ps.send(tag + ':' + i);
          want.push(tag + ':' + i);
          if (i == 20) {
            ps.send(command);
            if (answer !== undefined) want.push(answer);
          }
        }
        ps.send('burst:60');
        for (let i = 0; i < 60; i++) want.push(String(i));
        return want;
      };
      const rounds = [];
      const check = async (tag, command, answer) => {
        const want = round(tag, command, answer);
        const have = await take(want.length);
        const at = want.findIndex((w, i) => have[i] !== w);
        rounds.push({ tag, same: at < 0, at, want: want.slice(at, at + 3), have: have.slice(at, at + 3) });
      };
      await until('open', () => events.includes('open'));
      const first = ps.transport;
      await check('a', 'transport', first);
      ps.send('mode:websocket=' + spec.mode);
      await take(1);
      if (spec.cut) await check('b', 'cut');
      // Until the session is on another transport (not merely reconnecting: transport "").
      for (let i = 0; [first, ''].includes(ps.transport) && i < 100; i++) await check('b' + i, 'protocol', '');
      const last = ps.transport;
      await check('c', 'protocol', '');
      ps.close(1000, 'done');
      await until('close', () => events.includes('close'));
      return { first, last, switches, events, rounds: rounds.filter((x) => !x.same), count: rounds.length };
    }, { ...spec, url: srv.url });
    assert.deepEqual(r.rounds, [], 'every round arrived exactly once and in order');
    assert.deepEqual(r.events, ['open', 'close'], 'no error; the page saw only open and, at the end, close');
    assert.ok(r.count >= 3);
    assert.deepEqual(rec.pageErrors, []);
    return { r, rec };
  } finally {
    await screenshot(page, name);
    await context.close().catch(() => {});
    await srv.stop();
  }
}

test('switch WebSocket → stream mid-conversation when WebSocket stops getting through', opts, async () => {
  const { r } = await switchScenario('switch-websocket-stream', [], { options: { remember: 0, debug: true }, mode: 'refuse', cut: true });
  // The cut WebSocket is announced as lost (to ""), the resume on the stream as from "".
  assert.deepEqual([r.first, r.last, r.switches], ['websocket', 'stream', ['websocket>', '>stream']]);
});

test('switch poll → WebSocket mid-conversation once WebSocket gets through', opts, async () => {
  const { r, rec } = await switchScenario('switch-poll-websocket', ['-websocket', 'refuse'], {
    options: { transports: ['websocket', 'poll'], remember: 0, debug: true, upgrade: 100 },
    mode: 'ok',
  });
  // A poll GET still on its way when the WebSocket was attached may yet replace it on the
  // server (PROTOCOL.md: the newer carrier by arrival); the client then resumes, so later
  // switches may follow the first. The messages must not care. Failed probes lose nothing:
  // the first event is the move itself.
  assert.deepEqual([r.first, r.last, r.switches[0]], ['poll', 'websocket', 'poll>websocket']);
  assert.ok(rec.console.some((l) => l.startsWith('polysock probe')), 'the debug log shows the probes');
});
