// sockjs-client@1.6.1 from npm, in Node, against cmd/sockjs-testserver: every transport
// sockjs-client can use in Node (websocket, xhr-streaming, xhr-polling, eventsource),
// forced one at a time with the `transports` option.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import SockJS from 'sockjs-client';
import { startServer, runScenario, checkResult, nodeTransports, scenarioNames } from './helpers.mjs';

let server;
before(async () => { server = await startServer(); }, { timeout: 180000 });
after(async () => { await server?.stop(); });

for (const transport of nodeTransports) {
  describe(`node ${transport}`, () => {
    for (const scenario of scenarioNames) {
      test(scenario, { timeout: 60000 }, async () => {
        const r = await runScenario(SockJS, server.url, transport, scenario);
        checkResult(assert, transport, scenario, r);
      });
    }
  });
}
