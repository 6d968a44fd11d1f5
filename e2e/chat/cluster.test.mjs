// The demo chat on three demo nodes sharing a real redis-server, behind the demo's
// round-robin proxy without stickiness (make demo-cluster, docs/SCALING.md), in headless
// Chromium: users on WebSocket, HTTP streaming and long-polling, whose sessions live on
// different nodes and whose every request may land on any node, chat in one room.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GUARD, arrived, build, joined, launchBrowser, openChat, say, screenshot, sees, startCluster } from './helpers.mjs';

let cleanup, browser;

before(async () => {
  cleanup = build();
  browser = await launchBrowser();
}, { timeout: 300000 });

after(async () => {
  await browser?.close().catch(() => {});
  cleanup?.();
});

test('cluster: three users on three transports chat through three nodes without sticky sessions', { timeout: GUARD * 3 }, async () => {
  const cluster = await startCluster();
  const users = [];
  try {
    for (const [nick, transport] of [['alice', undefined], ['bob', 'stream'], ['carol', 'poll']]) {
      const u = await openChat(browser, cluster.origin, { nick, room: 'lobby', transport });
      users.push(u);
      await joined(u);
    }
    const lines = [];
    for (const u of users) {
      for (const k of [1, 2]) {
        const l = `${u.nick} says ${k} ✓`;
        lines.push([u.nick, l]);
        await say(u, l);
      }
      // Each user waits for its own lines to come back before the next one speaks, so
      // the room's order is the order of lines.
      await sees(u, lines.filter(([n]) => n === u.nick).map(([, l]) => l));
    }
    for (const u of users) {
      await sees(u, lines.map(([, l]) => l));
      const got = (await arrived(u)).filter(([, t]) => lines.some(([, l]) => l === t));
      assert.deepEqual(got, lines, `${u.nick} received every message once, in order`);
      assert.deepEqual(u.rec.pageErrors, [], `no uncaught errors in ${u.nick}'s page`);
    }
    const transports = await Promise.all(users.map((u) => u.page.evaluate(() => document.getElementById('transport').textContent.split(' ')[0])));
    assert.deepEqual(transports, ['websocket', 'stream', 'poll'], 'each user on its transport');
  } finally {
    for (const u of users) await screenshot(u.page, `cluster-${u.nick}`);
    for (const u of users) await u.context.close().catch(() => {});
    await cluster.stop();
  }
});
