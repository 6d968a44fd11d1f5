// The demo chat (./demo, its page as a person uses it) in headless Chromium, with the
// hostile proxy (e2e/chat/proxy) between browser and server. Each scenario runs a fresh
// demo server and asserts both what the users see (the page's DOM) and what arrived (the
// messages the page received, the transport the server reports, what the proxy did).
//
// Timing is a measurement, never an assertion: for each scenario the run prints the time
// from the start of the page load to the session's open and to the first message the
// user typed coming back from the server (docs/BENCHMARKS.md, "Chat e2e timing").

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import {
  GUARD, arrived, build, joined, launchBrowser, openChat, say, screenshot, sees, shown, startDemo, startProxy, userTransport,
} from './helpers.mjs';

let cleanup, browser;
const timings = [];

before(async () => {
  cleanup = build();
  browser = await launchBrowser();
}, { timeout: 300000 });

after(async () => {
  await browser?.close().catch(() => {});
  cleanup?.();
  if (timings.length) {
    console.log('chat e2e timing (ms from page load; open = session open, first = first typed message back from the server)');
    for (const t of timings) console.log(`  ${t.name.padEnd(34)} transport=${t.transport.padEnd(9)} open=${String(t.open).padStart(5)}  first=${String(t.first).padStart(5)}`);
  }
});

const opts = { timeout: GUARD * 3 };

// Runs body with a fresh demo, a proxy per mode in modes, and closes everything after,
// screenshotting every page first (also after a failure).
async function scenario(name, modes, body) {
  const demo = await startDemo();
  const proxies = {};
  const users = [];
  try {
    for (const m of modes) proxies[m] = await startProxy(demo.origin, m);
    const open = async (origin, o) => {
      const u = await openChat(browser, origin, o);
      users.push(u);
      return u;
    };
    await body({ demo, proxies, open });
    for (const u of users) assert.deepEqual(u.rec.pageErrors, [], `no uncaught errors in ${u.nick}'s page`);
  } finally {
    for (const u of users) await screenshot(u.page, `${name}-${u.nick}`);
    for (const u of users) await u.context.close().catch(() => {});
    await Promise.all(Object.values(proxies).map((p) => p.stop()));
    await demo.stop();
  }
}

// The user's first message, typed the moment the page's DOM is ready (the page queues it
// while the session connects). An init script types it: the time measured is the page's,
// not the test driver's.
const typeFirst = (text) => `document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('text').value = ${JSON.stringify(text)};
  document.getElementById('composer').requestSubmit();
});`;

// Opens the chat for a user whose first message is text; waits until it is back from the
// server and records the timing.
async function openFirst(open, origin, name, o, text) {
  const init = o.initScript ? `(${o.initScript})();\n` : '';
  const u = await open(origin, { ...o, initScript: init + typeFirst(text) });
  await u.page.waitForFunction(() => window.chat.times.firstMessage !== undefined);
  await sees(u, [text]);
  const t = await u.page.evaluate(() => ({ ...window.chat.times, transport: window.chat.users.find((x) => x.id === window.chat.me.id)?.transport }));
  timings.push({ name, transport: t.transport ?? '?', open: t.open, first: t.firstMessage });
  return u;
}

// Both users chat: a says its lines, b answers with its own; each page shows all of them
// in order, and each received every one of them exactly once.
async function converse(a, b, aLines, bLines) {
  for (const l of aLines) await say(a, l);
  await sees(b, aLines);
  for (const l of bLines) await say(b, l);
  await Promise.all([a, b].map((u) => sees(u, [...aLines, ...bLines])));
  const want = [...aLines.map((l) => [a.nick, l]), ...bLines.map((l) => [b.nick, l])];
  for (const u of [a, b]) {
    const got = (await arrived(u)).filter(([, t]) => want.some(([, w]) => w === t));
    assert.deepEqual(got, want, `${u.nick} received every message once, in order`);
    const dom = (await shown(u)).filter(([, t]) => want.some(([, w]) => w === t));
    assert.deepEqual(dom, want, `${u.nick}'s page shows every message once, in order`);
  }
}

const header = (u) => u.page.evaluate(() => ({ state: document.getElementById('state').textContent, transport: document.getElementById('transport').textContent }));

test('a. two browser contexts chat over native WebSocket', opts, async () => {
  await scenario('a-websocket', ['pass'], async ({ proxies, open }) => {
    const alice = await openFirst(open, proxies.pass.origin, 'a. websocket (pass)', { nick: 'alice', room: 'lobby' }, 'hello, anyone here?');
    const bob = await open(proxies.pass.origin, { nick: 'bob', room: 'lobby' });
    await joined(bob);
    await converse(alice, bob, ['hi bob', 'how are you?'], ['hi alice', 'fine ✓ 😀']);
    for (const u of [alice, bob]) {
      assert.equal(await userTransport(u, 'alice', 'websocket'), 'websocket');
      assert.equal(await userTransport(u, 'bob', 'websocket'), 'websocket');
      assert.deepEqual(await header(u), { state: 'open', transport: 'websocket' });
      assert.equal(u.rec.websockets.length, 1, `${u.nick}'s page opened one native WebSocket`);
      assert.equal(await u.page.evaluate(() => window.WebSocket === window.PolySock), true, 'the polyfill switch made WebSocket the PolySock class');
    }
    // Bob joined after alice's first message: the room shows only what came after.
    assert.deepEqual((await shown(bob)).map(([, t]) => t).includes('hello, anyone here?'), false, 'no messages from before joining');
  });
});

test('b. window.WebSocket deleted before the page loads: the polyfill installs, chat works', opts, async () => {
  await scenario('b-no-websocket', ['pass'], async ({ proxies, open }) => {
    const initScript = () => {
      delete window.WebSocket;
    };
    const alice = await openFirst(open, proxies.pass.origin, 'b. no window.WebSocket', { nick: 'alice', room: 'lobby', initScript }, 'no WebSocket in this browser');
    const bob = await open(proxies.pass.origin, { nick: 'bob', room: 'lobby' });
    await joined(bob);
    await converse(alice, bob, ['can you read me?'], ['loud and clear']);
    const page = await alice.page.evaluate(() => ({
      polyfilled: typeof window.WebSocket === 'function' && window.WebSocket === window.PolySock,
      isPolySock: window.chat.socket instanceof window.PolySock,
    }));
    assert.deepEqual(page, { polyfilled: true, isPolySock: true });
    assert.deepEqual(alice.rec.websockets, [], 'no native WebSocket was opened');
    assert.equal(await userTransport(bob, 'alice', 'stream'), 'stream', 'the server has alice on the stream');
    assert.deepEqual(await header(alice), { state: 'open', transport: 'stream' });
  });
});

test('c. WebSocket upgrades refused: falls back, the first message is delivered', opts, async () => {
  await scenario('c-refused', ['refuse', 'pass'], async ({ proxies, open }) => {
    const bob = await open(proxies.pass.origin, { nick: 'bob', room: 'lobby' });
    await joined(bob);
    const alice = await openFirst(open, proxies.refuse.origin, 'c. upgrade refused', { nick: 'alice', room: 'lobby' }, 'first from behind the proxy');
    await sees(bob, ['first from behind the proxy']);
    await converse(alice, bob, ['second'], ['got both']);
    assert.equal(await userTransport(bob, 'alice', 'stream'), 'stream');
    assert.deepEqual(await header(alice), { state: 'open', transport: 'stream' });
    const st = await proxies.refuse.stats();
    assert.ok(st.refused >= 1, `the proxy refused the upgrade (${JSON.stringify(st)})`);
  });
});

test('d. WebSocket upgrade accepted then killed after 200 ms: falls back, no message lost', opts, async () => {
  await scenario('d-killed', ['kill', 'pass'], async ({ proxies, open }) => {
    const bob = await open(proxies.pass.origin, { nick: 'bob', room: 'lobby' });
    await joined(bob);
    // m1 is typed while the page is still connecting: queued, then sent on the stream.
    const alice = await openFirst(open, proxies.kill.origin, 'd. upgrade killed after 200 ms', { nick: 'alice', room: 'lobby' }, 'm1');
    for (const l of ['m2', 'm3', 'm4']) await say(alice, l);
    await sees(bob, ['m1', 'm2', 'm3', 'm4']);
    await converse(alice, bob, ['m5'], ['b1', 'b2', 'b3']);
    const fromAlice = (await arrived(bob)).filter(([n]) => n === 'alice').map(([, t]) => t);
    assert.deepEqual(fromAlice, ['m1', 'm2', 'm3', 'm4', 'm5'], 'every message of alice arrived once, in order');
    assert.equal(await userTransport(bob, 'alice', 'stream'), 'stream');
    // The first attempt, and the client's later probes for a working WebSocket: all killed.
    assert.ok(alice.rec.websockets.length >= 1, 'the page tried a WebSocket');
    assert.deepEqual(await header(alice), { state: 'open', transport: 'stream' });
    const st = await proxies.kill.stats();
    assert.ok(st.killed >= 1, `the proxy killed the upgrade (${JSON.stringify(st)})`);
  });
});

test('e. responses buffered by the proxy: falls back to polling, chat works', opts, async () => {
  await scenario('e-buffered', ['buffer', 'pass'], async ({ proxies, open }) => {
    const bob = await open(proxies.pass.origin, { nick: 'bob', room: 'lobby' });
    await joined(bob);
    const alice = await openFirst(open, proxies.buffer.origin, 'e. responses buffered', { nick: 'alice', room: 'lobby' }, 'polling through a buffer');
    await converse(alice, bob, ['still here'], ['me too', 'and again']);
    assert.equal(await userTransport(bob, 'alice', 'poll'), 'poll');
    assert.equal(await userTransport(alice, 'alice', 'poll'), 'poll');
    assert.deepEqual(await header(alice), { state: 'open', transport: 'poll' });
    const st = await proxies.buffer.stats();
    assert.ok(st.buffered >= 1 && st.refused >= 1, `the proxy refused the upgrade and buffered (${JSON.stringify(st)})`);
  });
});

test('f. one user on WebSocket, one on polling, chatting both ways', opts, async () => {
  await scenario('f-mixed', ['pass'], async ({ proxies, open }) => {
    const alice = await openFirst(open, proxies.pass.origin, 'f. websocket user', { nick: 'alice', room: 'lobby' }, 'I am on a WebSocket');
    const bob = await openFirst(open, proxies.pass.origin, 'f. forced poll user (?transport=poll)', { nick: 'bob', room: 'lobby', transport: 'poll' }, 'and I am polling');
    await sees(alice, ['and I am polling']);
    await converse(alice, bob, ['ping from ws', 'second from ws'], ['pong from poll', 'second from poll']);
    for (const u of [alice, bob]) {
      assert.equal(await userTransport(u, 'alice', 'websocket'), 'websocket');
      assert.equal(await userTransport(u, 'bob', 'poll'), 'poll');
    }
    assert.deepEqual(await header(bob), { state: 'open', transport: 'poll (forced)' });
    assert.equal(await bob.page.inputValue('#force'), 'poll', 'the transport control shows the forced transport');
    assert.deepEqual(bob.rec.websockets, [], 'the polling page opened no WebSocket');
  });
});

test('i. live upgrade: the first WebSocket refused, the session moves onto WebSocket', opts, async () => {
  await scenario('i-live-upgrade', ['refuse1', 'pass'], async ({ proxies, open }) => {
    const bob = await open(proxies.pass.origin, { nick: 'bob', room: 'lobby' });
    await joined(bob);
    const alice = await openFirst(open, proxies.refuse1.origin, 'i. first upgrade refused, then upgraded', { nick: 'alice', room: 'lobby' }, 'u1');
    // The client probes WebSocket again from the stream and moves the session onto it.
    await alice.page.waitForFunction(() => window.chat.socket.transport === 'websocket');
    await alice.page.waitForFunction(() => document.getElementById('transport').textContent === 'websocket');
    await converse(alice, bob, ['u2', 'u3'], ['seen', 'all']);
    assert.deepEqual(await header(alice), { state: 'resumed', transport: 'websocket' });
    const notes = await alice.page.$$eval('#log .sys', (es) => es.map((e) => e.textContent));
    assert.ok(notes.includes('connection moved from stream to websocket'), `the page tells the move (${notes})`);
    assert.ok(!notes.some((n) => n.startsWith('connection lost')), `a live move loses no carrier (${notes})`);
    assert.equal(await userTransport(bob, 'alice', 'websocket'), 'websocket', 'the server has alice on WebSocket now');
    const fromAlice = (await arrived(bob)).filter(([n]) => n === 'alice').map(([, t]) => t);
    assert.deepEqual(fromAlice, ['u1', 'u2', 'u3'], 'every message of alice arrived once, in order');
    assert.equal(alice.rec.websockets.length, 2, 'the refused attempt and the probe');
    assert.equal((await proxies.refuse1.stats()).refused, 1);
  });
});

test('j. responses cut mid-response: the session resumes on new requests, no message lost', opts, async () => {
  await scenario('j-cut', ['cut', 'pass'], async ({ proxies, open }) => {
    const bob = await open(proxies.pass.origin, { nick: 'bob', room: 'lobby' });
    await joined(bob);
    const alice = await openFirst(open, proxies.cut.origin, 'j. responses cut after 1 KiB', { nick: 'alice', room: 'lobby' }, 'c0');
    // Enough traffic to alice that her stream responses pass the proxy's 1 KiB cut.
    const aLines = Array.from({ length: 5 }, (_, i) => `from alice ${i + 1}`);
    const bLines = Array.from({ length: 15 }, (_, i) => `from bob ${i + 1}: ` + 'x'.repeat(100));
    await converse(alice, bob, aLines, bLines);
    const fromAlice = (await arrived(bob)).filter(([n]) => n === 'alice').map(([, t]) => t);
    assert.deepEqual(fromAlice, ['c0', ...aLines], 'every message of alice arrived once, in order');
    const st = await proxies.cut.stats();
    assert.ok(st.cut >= 1, `the proxy cut responses (${JSON.stringify(st)})`);
    assert.equal(await alice.page.evaluate(() => window.chat.closed), null, 'the session survived');
    assert.notEqual(await alice.page.evaluate(() => window.chat.socket.transport), 'websocket');
  });
});

// The network drops every connection of a user (the proxy closes them, the WebSocket
// included): the page shows the session reconnecting, then resumed on a new carrier, and
// the conversation goes on with nothing lost, a message typed during the drop included.
test('k. connections dropped: the page shows reconnecting, then resumed, no message lost', opts, async () => {
  await scenario('k-drop', ['pass'], async ({ demo, proxies, open }) => {
    const bob = await open(demo.origin, { nick: 'bob', room: 'lobby' });
    await joined(bob);
    const alice = await open(proxies.pass.origin, { nick: 'alice', room: 'lobby' });
    await joined(alice);
    await converse(alice, bob, ['k1'], ['k2']);
    assert.deepEqual(await header(alice), { state: 'open', transport: 'websocket' });
    assert.ok((await proxies.pass.drop()) >= 1, 'the proxy dropped alice\'s connections');
    await say(alice, 'k3'); // typed while the session reconnects (or just after)
    await alice.page.waitForFunction(() => window.chat.state === 'resumed');
    await converse(alice, bob, ['k4'], ['k5']);
    const states = await alice.page.evaluate(() => window.chat.states);
    assert.deepEqual(states, ['connecting', 'open', 'reconnecting', 'resumed'], 'the header went through each state');
    assert.deepEqual(await header(alice), { state: 'resumed', transport: 'websocket' });
    const notes = await alice.page.$$eval('#log .sys', (es) => es.map((e) => e.textContent));
    assert.ok(notes.includes('connection lost on websocket, reconnecting…'), `the page tells the loss (${notes})`);
    assert.ok(notes.includes('resumed on websocket, nothing lost'), `the page tells the resume (${notes})`);
    const fromAlice = (await arrived(bob)).filter(([n]) => n === 'alice').map(([, t]) => t);
    assert.deepEqual(fromAlice, ['k1', 'k3', 'k4'], 'every message of alice arrived once, in order');
    const toAlice = (await arrived(alice)).filter(([n]) => n === 'bob').map(([, t]) => t);
    assert.deepEqual(toAlice, ['k2', 'k5'], 'every message of bob reached alice once, in order');
    assert.equal(alice.rec.websockets.length, 2, 'the first WebSocket and the one the session resumed on');
    assert.equal(await alice.page.evaluate(() => window.chat.closed), null, 'the session survived');
  });
});

// A real 48×48 PNG (a gradient, so the page shows it), followed by the bytes 0..255 twice
// after its IEND chunk (ignored by decoders): any text re-encoding on the way would show.
function testImage() {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 255] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const w = 48;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(w, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < w; y++) {
    rows.push(0); // filter: none
    for (let x = 0; x < w; x++) rows.push(x * 5, y * 5, 200);
  }
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.from(rows))), chunk('IEND', Buffer.alloc(0)),
  ]);
  return Buffer.concat([png, Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256))]);
}

test('g. an image is sent and received byte-identical', opts, async () => {
  await scenario('g-image', ['pass'], async ({ proxies, open }) => {
    const image = testImage();
    const alice = await open(proxies.pass.origin, { nick: 'alice', room: 'lobby' });
    await joined(alice);
    const bob = await open(proxies.pass.origin, { nick: 'bob', room: 'lobby', transport: 'stream' });
    await joined(bob);
    await say(alice, 'look at this');
    await alice.page.setInputFiles('#image', { name: 'demo.png', mimeType: 'image/png', buffer: image });
    await say(alice, 'nice, right?');
    await sees(bob, ['look at this', '', 'nice, right?']);
    for (const u of [alice, bob]) {
      await u.page.waitForSelector('#log .msg img');
      // The bytes behind the <img> the user sees: its Blob URL, read back in the page.
      const got = await u.page.evaluate(async () => {
        const imgs = [...document.querySelectorAll('#log .msg img')];
        const out = [];
        for (const img of imgs) out.push({ alt: img.alt, bytes: [...new Uint8Array(await (await fetch(img.src)).arrayBuffer())] });
        return out;
      });
      assert.equal(got.length, 1, `${u.nick} shows one image`);
      assert.equal(got[0].alt, 'demo.png');
      assert.ok(Buffer.from(got[0].bytes).equals(image), `${u.nick} got the image byte-identical (${got[0].bytes.length} of ${image.length} bytes)`);
      const order = (await shown(u)).map(([n, t]) => `${n}:${t}`);
      assert.deepEqual(order.slice(-3), ['alice:look at this', 'alice:', 'alice:nice, right?'], 'the image keeps its place between the texts');
      const rec = await u.page.evaluate(() => window.chat.received.filter((m) => m.type === 'image'));
      assert.deepEqual(rec.map((m) => [m.nick, m.name, m.mime, m.room, m.size]), [['alice', 'demo.png', 'image/png', 'lobby', image.length]]);
    }
    assert.equal(await userTransport(alice, 'bob', 'stream'), 'stream');
  });
});

for (const transport of ['websocket', 'poll']) {
  test(`h. a close code and reason set by the server reach onclose (${transport})`, opts, async () => {
    await scenario(`h-kick-${transport}`, ['pass'], async ({ demo, proxies, open }) => {
      const alice = await open(proxies.pass.origin, { nick: 'alice', room: 'lobby', transport });
      await joined(alice);
      const bob = await open(proxies.pass.origin, { nick: 'bob', room: 'lobby' });
      await joined(bob);
      await converse(alice, bob, ['about to be kicked'], ['bye']);
      const res = await fetch(`${demo.origin}/admin/kick?nick=alice&reason=${encodeURIComponent('kicked by the admin ✓')}`, { method: 'POST' });
      assert.equal(res.status, 204);
      await alice.page.waitForFunction(() => window.chat.closed !== null);
      assert.deepEqual(await alice.page.evaluate(() => window.chat.closed), { code: 4401, reason: 'kicked by the admin ✓', wasClean: true });
      assert.equal(await alice.page.textContent('#bannertext'), 'Disconnected: 4401 kicked by the admin ✓');
      assert.equal(await alice.page.isVisible('#banner'), true);
      assert.deepEqual(await header(alice), { state: 'closed', transport: transport + ' (forced)' });
      await bob.page.waitForFunction(() => [...document.querySelectorAll('#log .sys')].some((e) => e.textContent === 'alice left'));
      await bob.page.waitForFunction(() => !document.querySelector('#users li[data-nick="alice"]'));
    });
  });
}
