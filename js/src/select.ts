// Transport selection policy (DESIGN.md, "The client picks the best transport"): the order
// of attempts, their timeouts, which failures end the attempt list, and the per-origin
// memory of what worked. Pure functions apart from the guarded localStorage access.

/** A transport name, the same string as in the protocol and the Go packages. */
export type Transport = "websocket" | "stream" | "poll";

/** All transports in automatic order: WebSocket, then the HTTP stream, then polling. */
export const ALL: readonly Transport[] = ["websocket", "stream", "poll"];

/** What worked last time for one origin. */
export interface Memory {
  /** The transport that opened the session. */
  t: Transport;
  /** Milliseconds from the start of that attempt to the session's OPEN. */
  rtt: number;
  /** Expiry, in ms since the epoch. */
  exp: number;
}

/**
 * The attempt order: the allowed transports that are available, in automatic order,
 * except that a remembered transport (when allowed and available) goes first.
 */
export function plan(allowed: readonly string[], available: (t: Transport) => boolean, mem?: Memory): Transport[] {
  const list = ALL.filter((t) => allowed.includes(t) && available(t));
  const i = mem ? list.indexOf(mem.t) : -1;
  if (i > 0) list.unshift(...list.splice(i, 1));
  return list;
}

/**
 * How long an attempt may take to deliver the session's OPEN before the next transport
 * is tried: base while no round trip was measured, otherwise four times the measured
 * connect time, between 1 s and 10 s.
 */
export const timeoutFor = (base: number, rtt?: number): number =>
  rtt ? Math.min(Math.max(4 * rtt, 1000), 10000) : base;

/**
 * Whether a close code that ends a carrier is the server's answer (which ends the session,
 * or the attempts before it opened) rather than a transport failure (which moves on to
 * the next transport, or resumes): policy, message size, internal error, restart, try
 * again later, and the codes polysock reserves (4000–4099) except 4005, "replaced", which
 * only ends a carrier.
 */
export const isAnswer = (code: number): boolean => (code > 1007 && code < 1014 && code != 1010) || (code >= 4000 && code < 4100 && code != 4005);

/**
 * The delay before reconnection attempt n (0, 1, 2, … in a row), in ms: exponential backoff
 * with full jitter, a uniformly random time in [0, min(cap, 500 × 2^n)): up to 500 ms
 * for the first attempt, doubling with each. r is a
 * random number in [0, 1).
 */
export const backoff = (n: number, cap: number, r = Math.random()): number => r * Math.min(cap, 500 * 2 ** n);

const KEY = "polysock:";

// The memory lives in localStorage. Where there is none, or where touching it throws
// (sandboxed frames, some privacy modes, a full quota), nothing is remembered.

/** Reads the memory of origin; missing, expired or unreadable entries read as undefined. */
export function recall(origin: string, now: number): Memory | undefined {
  try {
    const m = JSON.parse(localStorage.getItem(KEY + origin)!) as Memory | null;
    if (m && m.exp > now && ALL.includes(m.t)) return m;
  } catch {
    // no storage, or a corrupt entry: nothing remembered
  }
  return undefined;
}

/** Stores the memory of origin, or forgets it (0); never throws. */
export function remember(origin: string, m: Memory | 0): void {
  try {
    localStorage.setItem(KEY + origin, JSON.stringify(m));
  } catch {
    // no storage, or quota errors: the memory is an optimisation only
  }
}
