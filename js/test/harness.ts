// Test harness for the Node tests that talk to a real Go server: builds js/test/server
// once, starts it on a free 127.0.0.1 port with the given flags, and wraps PolySock in an
// event recorder. Every wait is bounded by GUARD, a hang guard rather than a timing
// assertion: a healthy run takes milliseconds per step.
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { PolySock, type Options } from "../src/polysock.js";

export const GUARD = 20000;

// The module root: this file runs from build/js-test/test/.
const root = fileURLToPath(new URL("../../../", import.meta.url));
let bin: string | undefined;
let binDir: string | undefined;

/** Builds the test server (once per test file). */
export function buildServer(): void {
  if (bin) return;
  binDir = mkdtempSync(join(tmpdir(), "polysock-js-test-"));
  bin = join(binDir, "server");
  execFileSync("go", ["build", "-o", bin, "./js/test/server"], { cwd: root, stdio: ["ignore", "inherit", "inherit"], timeout: 300000 });
}

/** Removes the built server. */
export function removeServer(): void {
  if (binDir) rmSync(binDir, { recursive: true, force: true });
  bin = binDir = undefined;
}

export interface TestServer {
  /** The endpoint, http://127.0.0.1:<port>/rt. */
  url: string;
  /** The same endpoint in the ws: form. */
  ws: string;
  stop(): Promise<void>;
}

/** Starts the test server with flags; stop() ends it (closing its stdin, then killing it). */
export async function startServer(...flags: string[]): Promise<TestServer> {
  buildServer();
  const child: ChildProcess = spawn(bin!, flags, { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error("test server did not start")), GUARD);
    rl.once("line", (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once("exit", (code) => reject(new Error("test server exited with " + code)));
  });
  const url = line.replace(/^listening /, "");
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/rt$/);
  return {
    url,
    ws: url.replace(/^http/, "ws"),
    async stop() {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One event as seen by a listener: its type, the readyState then, and its details. */
export interface Seen {
  type: string;
  state: number;
  code?: number;
  reason?: string;
  wasClean?: boolean;
}

/** A PolySock with every event recorded, and waits for messages and the end. */
export class Client {
  readonly ps: PolySock;
  readonly seen: Seen[] = [];
  readonly messages: (string | ArrayBuffer | Blob)[] = [];
  private waiters: (() => void)[] = [];

  constructor(url: string, protocols?: string | string[], options?: Options) {
    this.ps = new PolySock(url, protocols, { remember: 0, ...options });
    for (const type of ["open", "message", "error", "close"]) {
      this.ps.addEventListener(type, (e) => {
        const c = e as CloseEvent;
        this.seen.push(type == "close" ? { type, state: this.ps.readyState, code: c.code, reason: c.reason, wasClean: c.wasClean } : { type, state: this.ps.readyState });
        if (type == "message") this.messages.push((e as MessageEvent).data);
        this.waiters.splice(0).forEach((w) => w());
      });
    }
  }

  /** Waits until cond holds, re-checking after every event. */
  async until(what: string, cond: () => boolean): Promise<void> {
    const deadline = Date.now() + GUARD;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error("gave up waiting for " + what + "; events: " + JSON.stringify(this.seen.slice(-5)));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 250);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for the open event; fails if the session closes instead. */
  async opened(): Promise<void> {
    await this.until("open", () => this.seen.some((e) => e.type == "open" || e.type == "close"));
    assert.deepEqual(this.seen[0], { type: "open", state: PolySock.OPEN }, "open, not " + JSON.stringify(this.seen));
  }

  /** Waits for n messages in all and returns them, taking them off the list. */
  async take(n: number): Promise<(string | ArrayBuffer | Blob)[]> {
    await this.until(n + " messages", () => this.messages.length >= n || this.closed() !== undefined);
    assert.ok(this.messages.length >= n, "closed with " + this.messages.length + " of " + n + " messages: " + JSON.stringify(this.closed()));
    return this.messages.splice(0, n);
  }

  /** The close event, once there is one. */
  closed(): Seen | undefined {
    return this.seen.find((e) => e.type == "close");
  }

  /** Waits for the close event and returns it. */
  async ended(): Promise<Seen> {
    await this.until("close", () => this.closed() !== undefined);
    return this.closed()!;
  }
}
