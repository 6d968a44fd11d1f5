// Shared by the browser tests of the polysock client: the Go test server (js/test/server,
// built into a temporary directory and run on a free 127.0.0.1 port, as js/test/harness.ts
// does), headless Chromium through playwright-core, and the same-origin test page.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
export const artifacts = join(repoRoot, 'artifacts/browser');

/** A hang guard for each step, never a timing assertion. */
export const GUARD = 30000;

// startServer builds js/test/server and runs it with flags. It resolves with the endpoint
// (http://127.0.0.1:<port>/rt), its origin and stop(), which closes the server's stdin
// (it exits when stdin ends), kills it if it lingers and removes the build.
export async function startServer(...flags) {
  const dir = mkdtempSync(join(tmpdir(), 'polysock-browser-e2e-'));
  const bin = join(dir, 'server');
  let child;
  try {
    execFileSync('go', ['build', '-o', bin, './js/test/server'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'], timeout: 300000 });
    child = spawn(bin, flags, { stdio: ['pipe', 'pipe', 'inherit'] });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const exited = new Promise((res) => child.once('exit', res));
  const stop = async () => {
    child.stdin.end();
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error('test server did not start')), GUARD);
      child.once('exit', (code) => rej(new Error(`test server exited with ${code}`)));
      createInterface({ input: child.stdout }).once('line', (line) => {
        clearTimeout(t);
        const m = /^listening (http:\/\/127\.0\.0\.1:\d+\/rt)$/.exec(line);
        m ? res(m[1]) : rej(new Error(`unexpected first line: ${line}`));
      });
    });
    return { url, origin: new URL(url).origin, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Headless Chromium as the brief prescribes; playwright-core gives it a fresh temporary profile. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
    timeout: GUARD,
  });
}

const scenarioSource = readFileSync(join(here, 'scenario.js'), 'utf8');

// The test page: the drop-in bundle as the Go server serves it (<script src="/rt/polysock.js">
// with the given attributes).
export const pageHTML = (scriptAttrs = '') => `<!doctype html>
<html><head><meta charset="utf-8"><title>polysock browser e2e</title>
<script src="/rt/polysock.js"${scriptAttrs ? ' ' + scriptAttrs : ''}></script>
</head><body><h1>polysock browser e2e</h1><pre id="log"></pre></body></html>`;

/**
 * Opens a page of a new context (its own storage, so nothing is remembered between
 * scenarios), same-origin with the endpoint. The document must really come from the
 * loopback server: Chromium's local network access checks block a WebSocket to 127.0.0.1
 * from a document a Playwright route fulfilled (ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS),
 * and js/test/server has no page. So the page navigates to <origin>/e2e/ (the server's
 * 404, a loopback document of that origin), then its content is replaced by pageHTML
 * (document.open/write: same window, the init script's changes stay) and scenario.js is
 * added. initScript runs before any script of the page. Everything the page sends and
 * logs is recorded.
 */
export async function openPage(browser, origin, { scriptAttrs = '', initScript } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(GUARD);
  const rec = { requests: [], websockets: [], console: [], pageErrors: [] };
  page.on('request', (r) => rec.requests.push({ type: r.resourceType(), method: r.method(), url: r.url() }));
  page.on('websocket', (ws) => rec.websockets.push(ws.url()));
  page.on('console', (m) => rec.console.push(m.text()));
  page.on('pageerror', (e) => rec.pageErrors.push(String(e)));
  if (initScript) await page.addInitScript(initScript);
  await page.goto(origin + '/e2e/');
  await page.setContent(pageHTML(scriptAttrs));
  await page.addScriptTag({ content: scenarioSource });
  return { context, page, rec };
}

/** Saves a screenshot of the page to artifacts/browser/<name>.png (best effort, not asserted). */
export async function screenshot(page, name) {
  try {
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, name.replace(/[^a-z0-9-]+/gi, '_') + '.png'), timeout: 10000 });
  } catch {
    // a screenshot is a debugging aid only
  }
}

/** The client's requests to the endpoint that carry ps_t (stream and poll GETs), and its POSTs. */
export function endpointRequests(rec, endpoint) {
  const mine = rec.requests.filter((r) => r.url.startsWith(endpoint + '?'));
  const q = (r) => new URL(r.url).searchParams;
  return {
    gets: mine.filter((r) => r.method === 'GET').map((r) => ({ type: r.type, t: q(r).get('ps_t'), e: q(r).get('ps_e') })),
    posts: mine.filter((r) => r.method === 'POST').map((r) => r.type),
  };
}
