// sockjs-client@1.6.1 (its dist bundle from node_modules, served by cmd/sockjs-testserver)
// in headless Chromium via playwright-core: the browser-only transports (the iframe-based
// ones, htmlfile and jsonp-polling) and, for comparison, the ones Node covers too. The
// iframe transports load the test server's /<service>/iframe.html, whose SockJSURL points
// at the same bundle.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startServer, runScenario, checkResult, nodeTransports, browserOnlyTransports, scenarioNames } from './helpers.mjs';

let server, browser, page;
const pageErrors = [];

before(async () => {
  server = await startServer();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage();
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  await page.goto(server.url + '/');
  await page.waitForFunction(() => typeof window.SockJS === 'function', null, { timeout: 30000 });
  await page.addScriptTag({ content: `window.runScenario = ${runScenario.toString()};` });
}, { timeout: 180000 });

after(async () => {
  await browser?.close();
  await server?.stop();
});

for (const transport of [...browserOnlyTransports, ...nodeTransports]) {
  describe(`chromium ${transport}`, () => {
    for (const scenario of scenarioNames) {
      test(scenario, { timeout: 60000 }, async () => {
        const r = await page.evaluate(([base, t, s]) => window.runScenario(window.SockJS, base, t, s),
          [server.url, transport, scenario]);
        checkResult(assert, transport, scenario, r);
        assert.deepEqual(pageErrors, [], 'no errors in the page');
      });
    }
  });
}
