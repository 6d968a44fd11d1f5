// Shared by the chat e2e tests: the demo server (./demo) and the hostile proxy
// (e2e/chat/proxy), built once into a temporary directory and run on free 127.0.0.1 ports,
// and the chat page in headless Chromium (launchBrowser of e2e/browser).

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { GUARD, repoRoot } from '../browser/helpers.mjs';

export { GUARD, launchBrowser } from '../browser/helpers.mjs';
export const artifacts = join(repoRoot, 'artifacts/chat');

let dir;

/** Builds the demo and the proxy; returns cleanup(). */
export function build() {
  dir = mkdtempSync(join(tmpdir(), 'polysock-chat-e2e-'));
  for (const [out, pkg] of [['demo', './demo'], ['proxy', './e2e/chat/proxy']])
    execFileSync('go', ['build', '-o', join(dir, out), pkg], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'], timeout: 300000 });
  return () => rmSync(dir, { recursive: true, force: true });
}

// Runs a built binary until stop() and resolves with the URL its first line announces.
async function run(bin, args, pattern) {
  const child = spawn(join(dir, bin), args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr = [];
  child.stderr.on('data', (d) => stderr.push(d));
  const exited = new Promise((res) => child.once('exit', res));
  const stop = async () => {
    child.stdin.end(); // the proxy exits when stdin ends
    child.kill('SIGTERM'); // the demo on SIGTERM
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  try {
    const url = await new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`${bin} did not start`)), GUARD);
      child.once('exit', (code) => rej(new Error(`${bin} exited with ${code}: ${Buffer.concat(stderr)}`)));
      createInterface({ input: child.stdout }).once('line', (line) => {
        clearTimeout(t);
        const m = pattern.exec(line);
        m ? res(m[1]) : rej(new Error(`${bin}: unexpected first line: ${line}`));
      });
    });
    return { url, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The demo on a free port: { origin, stop }. */
export async function startDemo() {
  const { url, stop } = await run('demo', ['-addr', '127.0.0.1:0'], /^polysock demo: (http:\/\/127\.0\.0\.1:\d+)\//);
  return { origin: url, stop };
}

/**
 * A proxy in mode in front of origin: { origin, stats(), drop(), stop }. drop closes every
 * connection the browser has through it and resolves to how many.
 */
export async function startProxy(backend, mode) {
  const { url, stop } = await run('proxy', ['-backend', backend, '-mode', mode], /^listening (http:\/\/127\.0\.0\.1:\d+)$/);
  return {
    origin: url,
    stop,
    stats: async () => (await fetch(url + '/__proxy/stats')).json(),
    drop: async () => (await (await fetch(url + '/__proxy/drop', { method: 'POST' })).json()).dropped,
  };
}

/**
 * Opens the chat as nick in a new browser context (its own storage) at origin, in room,
 * with ?transport= when given. initScript runs before any script of the page. Resolves
 * once the page has loaded; records the WebSockets Chromium opened and page errors.
 */
export async function openChat(browser, origin, { nick, room, transport, initScript }) {
  const context = await browser.newContext({ viewport: { width: 960, height: 560 } });
  const page = await context.newPage();
  page.setDefaultTimeout(GUARD);
  const rec = { websockets: [], pageErrors: [], requests: [] };
  page.on('websocket', (ws) => rec.websockets.push(ws.url()));
  page.on('pageerror', (e) => rec.pageErrors.push(String(e)));
  page.on('request', (r) => rec.requests.push(r.url()));
  if (initScript) await page.addInitScript(initScript);
  const q = new URLSearchParams({ nick, room });
  if (transport) q.set('transport', transport);
  await page.goto(`${origin}/?${q}`);
  return { context, page, rec, nick, room };
}

/** Types text into the composer and sends it, as a person would. */
export async function say(u, text) {
  await u.page.fill('#text', text);
  await u.page.press('#text', 'Enter');
}

/** Waits until the session is open and the user is in its room. */
export async function joined(u) {
  await u.page.waitForFunction((room) => window.chat.state === 'open' && window.chat.current === room, u.room);
}

/** Waits until the message log of the page shows texts (in this order, among others). */
export async function sees(u, texts) {
  await u.page.waitForFunction(
    (want) => {
      const got = [...document.querySelectorAll('#log .msg .body')].map((e) => e.textContent);
      let i = 0;
      for (const g of got) if (g === want[i]) i++;
      return i === want.length;
    },
    texts,
  );
}

/** What the page's log shows: [nick, text] of each message. */
export const shown = (u) =>
  u.page.$$eval('#log .msg', (ms) => ms.map((m) => [m.querySelector('.nick').textContent, m.querySelector('.body').textContent]));

/** The chat messages (type "msg") that arrived at the page, as [nick, text]. */
export const arrived = (u) => u.page.evaluate(() => window.chat.received.filter((m) => m.type === 'msg').map((m) => [m.nick, m.text]));

/** The transport badge of nick in u's user list, once it shows want. */
export async function userTransport(u, nick, want) {
  await u.page.waitForFunction(([n, w]) => document.querySelector(`#users li[data-nick="${n}"] .tr`)?.textContent === w, [nick, want]);
  return u.page.textContent(`#users li[data-nick="${nick}"] .tr`);
}

/** Saves a screenshot of the page to artifacts/chat/<name>.png (best effort, not asserted). */
export async function screenshot(page, name) {
  try {
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, name + '.png'), timeout: 10000 });
  } catch {
    // a screenshot is a debugging aid only
  }
}

/**
 * The demo as a cluster: redis-server on a free port, three demo nodes on it (-redis) and
 * the demo's round-robin proxy without stickiness (-proxy) in front: { origin, nodes, stop }.
 */
export async function startCluster() {
  const redisPort = await freePort();
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const redisExited = new Promise((res) => redis.once('exit', res));
  const stops = [async () => { redis.kill('SIGKILL'); await redisExited; }];
  const stop = async () => { for (const s of stops.reverse()) await s(); };
  try {
    await waitRedis(redisPort);
    const nodes = [];
    for (const id of ['n1', 'n2', 'n3']) {
      const n = await run('demo', ['-addr', '127.0.0.1:0', '-redis', `127.0.0.1:${redisPort}`, '-node', id], /^polysock demo: (http:\/\/127\.0\.0\.1:\d+)\//);
      stops.push(n.stop);
      nodes.push(n.url);
    }
    const p = await run('demo', ['-proxy', '127.0.0.1:0', '-backends', nodes.join(',')], /^polysock demo cluster: (http:\/\/127\.0\.0\.1:\d+)\//);
    stops.push(p.stop);
    return { origin: p.url, nodes, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function freePort() {
  const { createServer } = await import('node:net');
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

// Waits until redis-server answers PING on port (bounded by GUARD).
async function waitRedis(port) {
  const { connect } = await import('node:net');
  const deadline = Date.now() + GUARD;
  for (;;) {
    const ok = await new Promise((res) => {
      const c = connect(port, '127.0.0.1');
      c.once('error', () => res(false));
      c.once('connect', () => c.write('PING\r\n'));
      c.once('data', (d) => { c.destroy(); res(String(d).startsWith('+PONG')); });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
