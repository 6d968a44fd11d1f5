// Shared by the SockJS interop tests: starting the Go test server, and the scenarios run
// with the real sockjs-client (in Node, and inside Chromium pages).

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// startServer builds cmd/sockjs-testserver and runs it on a free loopback port. It returns
// the base URL and stop(), which kills the server and removes the build.
export async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'sockjs-e2e-'));
  const bin = join(dir, 'sockjs-testserver');
  execFileSync('go', ['build', '-o', bin, './cmd/sockjs-testserver'], { cwd: repoRoot, stdio: 'inherit' });
  const child = spawn(bin, ['-addr', '127.0.0.1:0', '-client-dir', join(repoRoot, 'node_modules/sockjs-client/dist')], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((res) => child.once('exit', res));
  const url = await new Promise((res, rej) => {
    const guard = setTimeout(() => rej(new Error('sockjs-testserver did not start')), 30000);
    child.once('exit', (code) => rej(new Error(`sockjs-testserver exited with ${code}`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(guard);
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      m ? res(m[1]) : rej(new Error(`unexpected first line: ${line}`));
    });
  });
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The transports sockjs-client 1.6.1 can use in Node, and the ones only a browser has.
export const nodeTransports = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource'];
export const browserOnlyTransports = ['iframe-eventsource', 'htmlfile', 'iframe-htmlfile', 'iframe-xhr-polling', 'jsonp-polling'];
export const scenarioNames = ['echo', 'unicode', 'ordered', 'close'];

// runScenario opens a SockJS connection to base (on /echo, or /close for "close") forced
// onto one transport, runs the scenario and resolves with what happened. It must stay
// self-contained: the browser tests send its source into the page.
//   echo:    "hello" comes back
//   unicode: characters SockJS escapes (U+0000-U+001F, U+2028/9, U+200C-U+200F,
//            U+2060-U+206F, U+FFF0-U+FFFF), non-BMP, quotes, "%", "</script>", ""
//   ordered: 100 messages come back once each, in order
//   close:   the server closes with 3000 "Go away!"
export function runScenario(SockJS, base, transport, scenario) {
  const range = (from, to) => { let s = ''; for (let c = from; c <= to; c++) s += String.fromCharCode(c); return s; };
  const unicode = range(0, 0x1f) + '\u2028\u2029' + range(0x200c, 0x200f) + range(0x2060, 0x206f) +
    range(0xfff0, 0xffff) + ' é漢字😀 "q" \\b\\ </script> %61bc %E2%80 \u00ad\ufeff';
  const expected = {
    echo: ['hello'],
    unicode: [unicode, '', 'after'],
    ordered: Array.from({ length: 100 }, (_, i) => 'm' + i),
    close: [],
  }[scenario];
  return new Promise((resolve, reject) => {
    const sock = new SockJS(base + (scenario === 'close' ? '/close' : '/echo'), null, { transports: [transport] });
    const result = { opened: false, transport: null, received: [], expected };
    const timer = setTimeout(() => {
      try { sock.close(); } catch { /* already closed */ }
      reject(new Error(`${scenario} over ${transport} timed out after ${result.received.length} messages`));
    }, 30000);
    sock.onopen = () => {
      result.opened = true;
      result.transport = sock.transport;
      for (const m of expected) sock.send(m);
    };
    sock.onmessage = (e) => {
      result.received.push(e.data);
      if (result.received.length === expected.length) sock.close(1000, 'done');
    };
    sock.onclose = (e) => {
      clearTimeout(timer);
      Object.assign(result, { code: e.code, reason: e.reason });
      resolve(result);
    };
  });
}

// checkResult asserts what every scenario must show.
export function checkResult(assert, transport, scenario, r) {
  assert.equal(r.opened, true, 'the connection opened');
  assert.equal(r.transport, transport, 'sockjs-client used the forced transport');
  assert.deepEqual(r.received, r.expected);
  if (scenario === 'close') {
    assert.equal(r.code, 3000);
    assert.equal(r.reason, 'Go away!');
  } else {
    assert.equal(r.code, 1000);
  }
}
