// PolySock: the browser WebSocket API over whichever transport works (DESIGN.md, "The
// client picks the best transport"). The class owns the API surface (attributes, events,
// exceptions), the choice of carrier, the liveness watch, reconnection with resume and
// the live switch onto WebSocket, and the session itself (PROTOCOL.md 6, 7 and 9): the
// message stream, whatever carries it (one class: the bundle's size budget).

import { closeArgs, endpoint, fail, protocolList, utf8 } from "./url.js";
import { ALL, backoff, isAnswer, plan, recall, remember, timeoutFor } from "./select.js";
import { NativeWebSocket, websocket } from "./transports/websocket.js";
import type { Carrier, Link } from "./transports/carrier.js";
import { stream, streamKind, type StreamKind } from "./transports/stream.js";
import { poll } from "./transports/poll.js";
import { ACK, BINARY, CLOSE, CLOSE_REPLACED, OPEN, PING, PONG, TEXT, VERSION, frame, malformed, type Frame, type Open, type OutFrame } from "./wire.js";

/** A transport name: the same strings as in the protocol, the server and the Go client. */
export type Transport = "websocket" | "stream" | "poll";

/** Options of PolySock, the third constructor argument (an extension of the WebSocket API). */
export interface Options {
  /** Transports that may be used, tried in the order websocket, stream, poll; unknown names are ignored. Default: all. */
  transports?: readonly Transport[];
  /**
   * Milliseconds an attempt may take to open the session before the next transport is
   * tried, while no connect time is remembered for the origin (then four times that,
   * between 1 and 10 s). The last transport in the list waits up to 30 s. Default 2000.
   */
  timeout?: number;
  /** How long to remember, per origin, which transport worked, in ms; going offline forgets it. 0: never. Default one hour. */
  remember?: number;
  /**
   * How the stream transport reads its response: "fetch" (binary, streams), "eventsource"
   * (SSE, text) or "xhr" (progress events, text). "" picks the first available. Default "".
   */
  stream?: "fetch" | "eventsource" | "xhr" | "";
  /** Log each connection decision to the console. Default false. */
  debug?: boolean;
  /**
   * Reconnection attempts in a row, after the carrier of an open session is lost, before
   * the session is given up (error, then close 1006). Attempts made while the browser is
   * offline do not count. 0: never resume. Default 10.
   */
  retries?: number;
  /** The most a reconnection attempt waits (the cap of the exponential backoff), ms. Default 10000. */
  backoff?: number;
  /**
   * Bytes of messages the client may hold: sent and not yet acknowledged, or queued. A send
   * beyond it fails the session (error, then close 1006, as a native WebSocket whose buffer
   * is full). Default 8 MiB.
   */
  buffer?: number;
  /**
   * How long, in ms, to stay off WebSocket after it died early (failed, or lasted less
   * than 10 s) twice in a row; meanwhile the session uses the next transport and does not
   * probe WebSocket. Default 300000 (5 minutes).
   */
  upgrade?: number;
}

/** The option defaults. Changing them changes the defaults of later PolySocks. */
export const DEFAULTS: Required<Options> = {
  transports: ALL,
  timeout: 2000,
  remember: 3600000,
  stream: "",
  debug: false,
  retries: 10,
  backoff: 10000,
  buffer: 8 << 20,
  upgrade: 300000,
};

/**
 * The detail of a transport event: the session moved from one transport to another. ""
 * stands for no transport: to "" when the session lost its carrier and is reconnecting,
 * from "" when it resumed on a new carrier (nothing lost).
 */
export interface TransportChange {
  from: Transport | "";
  to: Transport | "";
}

/** The events of a PolySock: those of a WebSocket, and transport. */
export interface PolySockEventMap {
  open: Event;
  message: MessageEvent<string | ArrayBuffer | Blob>;
  error: Event;
  close: CloseEvent;
  /** The open session moved to another transport, lost its carrier (to: "") or resumed (from: ""); not fired at open. */
  transport: CustomEvent<TransportChange>;
}

/** What send takes: the types WebSocket.send takes. */
export type SendData = string | ArrayBufferLike | ArrayBufferView | Blob;

type Handler<E> = ((this: PolySock, ev: E) => unknown) | null;

// A carrier's Link, with the carrier and its transport.
interface L extends Link {
  _c: Carrier;
  _t: Transport;
}

// A message: its frame type and payload, a Blob until it has been read.
interface Msg {
  t: typeof TEXT | typeof BINARY;
  d: Uint8Array | Blob;
  /** Taken by a carrier before (it left _queued). */
  s?: boolean;
}

/** The byte size of a payload. */
const size = (d: Uint8Array | Blob): number => (d as Blob).size ?? (d as Uint8Array).length;


// The global object, whose members may be missing (workers, Node).
const G = globalThis as Partial<typeof globalThis>;

const STATES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"] as const;
const EVENTS = ["open", "message", "error", "close"];
const WS = "websocket";

const closeEvent = (init: CloseEventInit): Event =>
  typeof CloseEvent == "function" ? new CloseEvent("close", init) : Object.assign(new Event("close"), init);

// Whether a transport can run here. Polling needs fetch or XMLHttpRequest, which every
// environment with a way to stream has too.
const available = (t: Transport): boolean => (t == WS ? !!NativeWebSocket : !!streamKind());

// Reads an OPEN body. The client checks only what it relies on (version, sid, token) and
// reads the members it uses (protocol, ack, ping, maxBody); wire.parseOpen's full member
// type check would cost a tenth of the size budget for no behaviour a client needs.
const open = (json: string): Open => {
  const o = JSON.parse(json) as Open;
  if (o.v !== VERSION || !o.sid || !o.token) throw malformed();
  return o;
};

/**
 * A WebSocket-compatible connection to a polysock endpoint. It carries one session over a
 * native WebSocket, an HTTP stream or long-polling, whichever works, with the WebSocket
 * API: the same attributes, events, event order and exceptions. A lost carrier is
 * replaced without the page noticing: the session resumes on a new one, and a session on
 * stream or poll moves onto WebSocket when it gets through (the transport event).
 */
export class PolySock extends EventTarget {
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;

  /** The endpoint's URL in its ws: or wss: form. */
  readonly url: string;
  // Defaults of these are on the prototype (below): "", "", and null for the handlers.
  /** The subprotocol the server chose, "" until the session opens or when none. */
  declare readonly protocol: string;
  /** Always "": no extensions are negotiated. */
  declare readonly extensions: string;
  declare onopen: Handler<Event>;
  declare onmessage: Handler<MessageEvent<string | ArrayBuffer | Blob>>;
  declare onerror: Handler<Event>;
  declare onclose: Handler<CloseEvent>;

  /** @internal */ _rs = 0;
  /** @internal */ _bt: BinaryType = "blob";
  /** @internal */ _http: string;
  /** @internal The subprotocols offered, joined with commas. */ _protos: string;
  /** @internal */ _o: Required<Options>;
  /** @internal Plan index of the current attempt's transport. */ _i = -1;
  /** @internal Reconnection attempts in a row. */ _n = 0;
  /** @internal Early WebSocket deaths in a row, and until when WebSocket is avoided. */ _wd = 0;
  /** @internal */ _wdT = 0;
  /** @internal The session's transport. */ _ct: Transport | "" = "";
  /** @internal Removes the online, offline and visibilitychange listeners. */ _ac = new AbortController();
  /** @internal */ _plan: Transport[];
  /** @internal */ declare _open?: Open;
  /** @internal */ declare _rtt?: number | undefined;
  /** @internal When the current attempt started, and when its carrier was confirmed. */ declare _t0: number;
  /** @internal */ declare _t1: number;
  /** @internal */ declare _last: number;
  /** @internal The current carrier; confirmed (its OPEN came) when _ok. */ declare _car?: L | undefined;
  /** @internal */ declare _ok?: boolean;
  /** @internal The WebSocket probe, a carrier waiting for its OPEN to replace the current one. */ declare _prb?: L | undefined;
  /** @internal The attempt timeout or backoff, the probe schedule or timeout, the liveness watch. */
  declare _timer?: ReturnType<typeof setTimeout> | undefined;
  /** @internal */ declare _pt?: ReturnType<typeof setTimeout>;
  /** @internal */ declare _dead?: ReturnType<typeof setTimeout>;

  /**
   * Connects to url (ws, wss, http, https or relative to the document) offering the given
   * subprotocols, as new WebSocket(url, protocols) does and with its exceptions.
   * options: see Options and DEFAULTS.
   */
  constructor(url: string | URL, protocols?: string | readonly string[], options?: Options) {
    super();
    [this.url, this._http] = endpoint(url, G.document?.baseURI);
    this._protos = protocolList(protocols).join();
    const o = (this._o = { ...DEFAULTS, ...options });
    for (const t of EVENTS)
      this.addEventListener(t, (e) => (this as unknown as Record<string, Handler<Event>>)["on" + t]?.call(this, e));
    const mem = o.remember ? recall(this._key, Date.now()) : undefined;
    this._rtt = mem?.rtt;
    this._plan = plan(o.transports, available, mem);
    // Back online: reconnect at once. Offline: no attempts (they would fail and count), and
    // the transport remembered for the origin is forgotten (the network may change).
    // A page coming back into view gets a fresh liveness period: its timers ran late.
    const sig = { signal: this._ac.signal };
    G.addEventListener?.("online", () => this._car || this._prb || this._again(), sig);
    G.addEventListener?.("offline", () => (remember(this._key, 0), this._car || clearTimeout(this._timer)), sig);
    G.document?.addEventListener("visibilitychange", () => (this._last = Date.now()), sig);
    queueMicrotask(() => this._rs || this._next());
  }

  /** CONNECTING, OPEN, CLOSING or CLOSED. */
  get readyState(): number {
    return this._rs;
  }

  /**
   * Bytes passed to send that have not been handed to the network yet, as on WebSocket:
   * messages queued (also while reconnecting), plus the WebSocket carrier's own buffer.
   * Messages sent and not yet acknowledged, which are kept for a resume, do not count.
   */
  get bufferedAmount(): number {
    return this._queued + (this._car?._c._buffered?.() ?? 0);
  }

  /** The transport carrying the session: "websocket", "stream" or "poll"; "" until it opens and while it reconnects. */
  get transport(): Transport | "" {
    return this._ct;
  }

  /** How binary messages are delivered: "blob" (the default) or "arraybuffer". */
  get binaryType(): BinaryType {
    return this._bt;
  }
  set binaryType(t: BinaryType) {
    if (t == "blob" || t == "arraybuffer") this._bt = t;
  }

  /**
   * Sends a message, as WebSocket.send: a string as text, anything else as binary (a Blob
   * is read first, in order). InvalidStateError while CONNECTING; while reconnecting the
   * message waits for the next carrier; after close, the data only adds to bufferedAmount.
   * A message that would take the client's buffer past options.buffer fails the session.
   */
  send(data: SendData): void {
    if (!this._rs) fail("InvalidStateError", "CONNECTING");
    const text = !(data instanceof Blob || data instanceof ArrayBuffer || ArrayBuffer.isView(data));
    // A copy of the bytes: of a view's range, or of all of an ArrayBuffer (whose byteOffset is undefined).
    const d: Uint8Array | Blob = text
      ? utf8(String(data))
      : data instanceof Blob
        ? data
        : new Uint8Array((data as ArrayBufferView).buffer ?? data, (data as ArrayBufferView).byteOffset, (data as ArrayBufferView).byteLength).slice();
    if (this._rs < 2 && this._bytes + size(d) > this._o.buffer) this._err("buffer");
    if (this._rs < 2) this._push(text, d);
    else this._queued += size(d); // never sent
  }

  /**
   * Closes the session, as WebSocket.close: code 1000 or 3000–4999
   * (InvalidAccessError), reason at most 123 bytes of UTF-8 (SyntaxError). Messages sent
   * before are delivered first.
   */
  close(code?: number, reason?: string): void {
    const c = closeArgs(code, reason);
    const rs = this._rs;
    if (rs > 1) return;
    this._rs = 2;
    if (rs) this._close(...c);
    else {
      this._stopCar();
      setTimeout(() => this._err(""));
    }
  }

  /**
   * Installs PolySock as the global WebSocket when there is none, or always with force.
   * Returns whether it did. The native WebSocket is still used as a transport.
   */
  static polyfill(options?: { force?: boolean }): boolean {
    if (!options?.force && typeof G.WebSocket == "function") return false;
    (G as { WebSocket?: unknown }).WebSocket = PolySock;
    return true;
  }

  // ---- internals: choosing the carrier ----

  /** @internal The origin key of the transport memory. */
  get _key(): string {
    return new URL(this._http).origin;
  }

  /** @internal */
  _log(...a: unknown[]): void {
    if (this._o.debug) console.log("polysock", ...a);
  }

  /** @internal Opening: starts the next attempt of the plan, or fails when none is left. */
  _next(): void {
    if (!this._plan[++this._i]) return this._err("transports");
    this._try();
  }

  /** @internal Starts an attempt on the plan's transport _i, replacing the current carrier. */
  _try(): void {
    this._stopCar();
    const t = this._plan[this._i]!;
    const ms = this._i + 1 < this._plan.length ? timeoutFor(this._o.timeout, this._rtt) : 30000; // the last transport may take 30 s
    this._log("try", t, ms);
    this._t0 = Date.now();
    const l = (this._car = this._make(t));
    // A poll resumed has no OPEN (PROTOCOL.md 5): it goes on at once.
    if (this._open && t == "poll") this._up(l);
    else this._timer = setTimeout(() => this._fail(0, "timeout", l), ms);
  }

  /** @internal A carrier of transport t, with its own Link. */
  _make(t: Transport): L {
    const l = {
      _t: t,
      _s: this as PolySock,
      _frame: (f: Frame) => this._frame(f, l),
      _fail: (code: number, r: string) => this._fail(code, r, l),
    } as L;
    try {
      l._c = t == WS ? websocket(l) : t == "stream" ? stream(l, (this._o.stream || streamKind()) as StreamKind) : poll(l);
    } catch (e) {
      l._c = { _flush() {}, _stop() {} };
      queueMicrotask(() => l._fail(0, String(e)));
    }
    return l;
  }

  /** @internal */
  _stopCar(): void {
    clearTimeout(this._timer);
    this._car?._c._stop();
    this._car = undefined;
    this._ok = false;
  }

  /** @internal The carrier was lost (and no probe replaced it): reconnect after the backoff, unless offline. */
  _lose(): void {
    this._sw("");
    if (G.navigator?.onLine == false) return this._log("offline");
    if (this._n >= this._o.retries) return this._err("retries");
    this._timer = setTimeout(() => this._again(), backoff(this._n++, this._o.backoff));
  }

  /** @internal A reconnection attempt, on the last transport unless WebSocket is to be avoided. */
  _again(): void {
    if (!this._open || this._rs > 2) return; // _try clears the backoff timer
    if (this._plan[this._i] == WS && Date.now() < this._wdT) this._i = (this._i + 1) % this._plan.length;
    this._try();
  }

  /** @internal Schedules a WebSocket probe, when the session is on another transport and WebSocket may be used. */
  _probe(): void {
    clearTimeout(this._pt);
    if (this._ct == WS || !this._plan.includes(WS)) return;
    this._pt = setTimeout(
      () => {
        if (this._prb || !this._ok || this._rs != 1) return;
        this._log("probe");
        const l = (this._prb = this._make(WS));
        this._pt = setTimeout(() => this._fail(0, "timeout", l), timeoutFor(this._o.timeout, this._rtt));
      },
      this._wdT - Date.now(), // a negative delay is 0
    );
  }

  // ---- internals: the Links of the carriers ----

  /** @internal The URL of a carrier request (PROTOCOL.md section 2). */
  _url(t?: string, e?: string): string {
    const u = new URL(t == WS ? this.url : this._http);
    const q = (k: string, v: unknown) => u.searchParams.set("ps_" + k, v as string);
    q("v", 1);
    if (e) q("t", t), q("e", e), q("r", Math.random()); // a GET
    if (this._open) {
      q("sid", this._open.sid);
      q("tok", this._open.token);
      if (t) {
        q("ack", this._acc);
        this._acking(this._acc);
      }
    } else if (this._protos) q("p", this._protos);
    return u.href;
  }

  /** @internal A frame from carrier l: the current one, or the probe. */
  _frame(f: Frame, l: L): void {
    if (l != this._car && l != this._prb) return;
    this._heard();
    // The server is there and the session moves: reconnection attempts start over. (An
    // OPEN alone does not count: a server that accepts carriers and then says nothing
    // must not be retried forever.)
    if (f.type > OPEN) this._n = 0;
    const up = l == this._car && this._ok;
    if (f.type == OPEN) {
      const o = open(f.data);
      if (!this._open) this._opened(o, l);
      else if (up) this._ack(o.ack); // a recycled stream goes on
      else this._up(l, o);
    }
    // Before its OPEN, a carrier's CLOSE is the server's answer; 4005: a newer carrier replaced it.
    else if (f.type == CLOSE && (f.code == CLOSE_REPLACED || !up)) this._fail(f.code, f.data, l);
    else if (up) this._receive(f);
  }

  /** @internal */
  _heard(): void {
    this._last = Date.now();
  }

  /**
   * @internal Carrier l cannot go on: code is the server's close code, a WebSocket's, a
   * decoding error's, or 0 for a transport failure.
   */
  _fail(code: number, reason: string, l: L): void {
    const probe = l == this._prb;
    if ((!probe && l != this._car) || this._rs > 2 || (!this._open && this._rs > 1)) return;
    this._log("fail", l._t, reason);
    const now = Date.now();
    // A WebSocket that failed, or died soon after its OPEN, counts towards the downgrade.
    if (l._t == WS)
      if (probe || !this._ok || now - this._t1 < 10000) { // lasting less than 10 s after its OPEN: an early death
        if (++this._wd > 1) this._wdT = now + this._o.upgrade;
      } else this._wd = 0;
    l._c._stop();
    if (probe) {
      this._prb = undefined;
      clearTimeout(this._pt);
      // No carrier: the current one ended for the probe (PROTOCOL.md 5) or was lost
      // meanwhile. Go on with its transport at once; a failure there is a loss.
      return this._car ? this._probe() : this._again();
    }
    // Before OPEN, anything but the server's answer moves on to the next transport.
    // After OPEN, the server's answer or a protocol error ends the session (PROTOCOL.md
    // 8.1); anything else is a lost carrier, resumed (on the next transport when this
    // one did not even open).
    if (isAnswer(code) || (this._open && (code == 1002 || code == 1003 || code == 1007))) return this._err(reason, code);
    if (!this._open) return this._next();
    if (!this._ok) this._i = (this._i + 1) % this._plan.length;
    this._stopCar();
    // A probe in progress decides: it either replaces this carrier or fails and reconnects.
    if (!this._prb) this._lose();
  }

  /** @internal The session's first OPEN, on carrier l. */
  _opened(o: Open, l: L): void {
    const rtt = Date.now() - this._t0;
    const t = (this._ct = l._t);
    this._open = o;
    this._max = o.maxBody - 1024;
    (this as { protocol: string }).protocol = o.protocol;
    this._log("open", t, rtt);
    if (this._o.remember) remember(this._key, { t, rtt, exp: Date.now() + this._o.remember });
    this._watch((2 * o.ping || 50000) + 5000);
    this._rs = 1;
    this._up(l, o);
    this.dispatchEvent(new Event("open"));
  }

  /**
   * @internal Carrier l (an attempt or the probe) continues the session: it becomes the
   * current carrier, the server's ack trims the replay buffer and the rest is sent again.
   */
  _up(l: L, o?: Open): void {
    if (l != this._car) this._stopCar();
    if (l == this._prb) this._prb = undefined;
    clearTimeout(this._timer);
    clearTimeout(this._pt);
    this._car = l;
    this._i = this._plan.indexOf(l._t);
    this._ok = true;
    this._t1 = Date.now();
    if (o) this._ack(o.ack);
    this._rewind();
    this._kick();
    this._sw(l._t);
    this._probe();
  }

  /** @internal The session is now on transport t, or on none while it reconnects (""): the transport event. */
  _sw(to: Transport | ""): void {
    const from = this._ct;
    if (from != to) {
      this._ct = to;
      this.dispatchEvent(new CustomEvent("transport", { detail: { from, to } }));
    }
  }

  /**
   * @internal Declares the current carrier dead after limit ms of silence (PROTOCOL.md 7).
   * Time without a confirmed carrier, or while the page is hidden (its timers are
   * throttled), does not count.
   */
  _watch(limit: number): void {
    const now = Date.now();
    if (G.document?.hidden || !this._ok) this._last = now;
    else if (this._last + limit <= now) this._fail(0, "silent", this._car!);
    if (this._rs < 3) this._dead = setTimeout(() => this._watch(limit), Math.max(this._last + limit - now, 1000));
  }

  // ---- internals: the session (PROTOCOL.md 6, 7 and 9), whatever carries it: numbering,
  // the replay buffer, cumulative ACKs (piggybacked, at most 100 ms late), duplicates
  // and gaps, PING answers and the close handshake ----

  /** @internal How many of our messages the peer acknowledged. */
  _acked = 0;
  /** @internal Our messages _acked+1 …, kept until acknowledged (the replay buffer). */
  _buf: Msg[] = [];
  /** @internal Index in _buf of the first message not yet taken on the current carrier. */
  _nx = 0;
  /** @internal Payload bytes of the messages no carrier has taken yet (taken again after a rewind does not count), and of those passed to send after close. */
  _queued = 0;
  /** @internal Payload bytes in the replay buffer: messages not yet acknowledged, taken or not. */
  _bytes = 0;
  /** @internal How many of the peer's messages were accepted, in order. */
  _acc = 0;
  /** @internal The last acknowledgement count sent. */
  _ackd = 0;
  /** @internal */ _pongs: Uint8Array[] = [];
  /** @internal About the most payload bytes of one batch (_take's default): the server's maxBody less room for headers. */
  _max = 1 << 20;
  /** @internal The ACK timer and the close handshake timer. */
  declare _at?: ReturnType<typeof setTimeout> | undefined;
  /** @internal */ declare _closeTimer?: ReturnType<typeof setTimeout>;
  /** @internal Our CLOSE (the app's, or the answer to the peer's) and whether it was taken. */
  declare _out?: OutFrame;
  /** @internal */ declare _outSent?: boolean;
  /** @internal The peer's CLOSE, when the peer started the handshake. */
  declare _peer?: [number, string];

  /**
   * @internal
   * Queues a message (text: UTF-8 bytes). Ignored once closing. A Blob is read first; the
   * messages after it wait, so the order is kept.
   */
  _push(text: boolean, d: Uint8Array | Blob): void {
    if (this._out) return;
    const m: Msg = { t: text ? TEXT : BINARY, d };
    this._buf.push(m);
    this._queued += size(d);
    this._bytes += size(d);
    if (d instanceof Blob)
      d.arrayBuffer().then(
        (b) => {
          m.d = new Uint8Array(b);
          this._kick();
        },
        () => this._err("blob"),
      );
    else this._kick();
  }

  /** @internal Queues our CLOSE after every queued message. code 0: a CLOSE without code. */
  _close(code: number, reason: string): void {
    if (this._out) return;
    this._out = frame(CLOSE, reason, 0, code);
    this._kick();
  }

  /** @internal Processes one inbound frame other than OPEN. */
  _receive(f: Frame): void {
    if (this._rs > 2) return;
    switch (f.type) {
      case TEXT:
      case BINARY:
        if (f.seq > this._acc + 1) return this._err("gap", 1002);
        if (f.seq <= this._acc || this._peer) return; // a duplicate, or data after CLOSE
        this.dispatchEvent(
          new MessageEvent("message", {
            data: typeof f.data == "string" ? f.data : this._bt == "blob" ? new Blob([f.data as Uint8Array<ArrayBuffer>]) : f.data.slice().buffer,
            origin: new URL(this.url).origin,
          }),
        );
        // The ACK goes at once after 64 unacknowledged messages, else within 100 ms
        // (PROTOCOL.md section 6 rule 3).
        if (++this._acc - this._ackd >= 64) this._kick();
        else
          this._at ||= setTimeout(() => {
            this._at = undefined;
            this._kick();
          }, 100);
        return;
      case ACK:
        return this._ack(f.seq);
      case PING:
        this._pongs.push(f.data);
        return this._kick();
      case CLOSE:
        // The answer to our CLOSE ends the session; otherwise the peer is closing and
        // gets our CLOSE (the one queued, or an echo of its own) as the answer.
        this._peer = [f.code || 1005, f.data];
        if (this._outSent) return this._end(...this._peer, true);
        this._out ||= frame(CLOSE, f.data, 0, f.code);
        this._rs = 2;
        this._kick();
    }
  }

  /** @internal Takes a cumulative acknowledgement of our messages (an ACK, OPEN or POST answer). */
  _ack(n: number): void {
    const k = n - this._acked;
    if (k > this._buf.length) return this._err("ack", 1002);
    if (k > 0) {
      for (const m of this._buf.splice(0, k)) this._bytes -= size(m.d);
      this._nx = Math.max(0, this._nx - k);
      this._acked = n;
    }
  }

  /** @internal Records that acknowledgement count n went to the peer (in a frame or a GET's ps_ack). */
  _acking(n: number): void {
    this._ackd = n;
    clearTimeout(this._at);
    this._at = undefined;
  }

  /**
   * @internal
   * The next batch for the carrier: the ACK when one is due, PONGs, then messages not yet
   * taken up to about max payload bytes (at least one), then our CLOSE once every
   * message is taken. Empty when there is nothing to send.
   */
  _take(max = this._max): OutFrame[] {
    const out: OutFrame[] = [];
    if (this._acc > this._ackd) {
      out.push(frame(ACK, "", this._acc));
      this._acking(this._acc);
    }
    for (const p of this._pongs) out.push(frame(PONG, p));
    this._pongs = [];
    for (let m, size = 0; (m = this._buf[this._nx]) && !(m.d instanceof Blob); ) {
      size += m.d.length + 16; // payload plus the most a frame header and seq take
      if (size > max && out.length) break;
      if (!m.s) {
        m.s = true;
        this._queued -= m.d.length;
      }
      out.push(frame(m.t, m.d, this._acked + ++this._nx));
    }
    if (this._out && !this._outSent && !this._buf[this._nx]) {
      out.push(this._out);
      this._outSent = true;
      // Our CLOSE waits 5 s for the answer, then the session ends uncleanly (PROTOCOL.md 9).
      this._closeTimer ||= setTimeout(() => this._end(1006, "timeout", false), 5000);
    }
    return out;
  }

  /** @internal The batches taken so far reached the peer: a CLOSE answer among them ends the session. */
  _written(): void {
    if (this._peer && this._outSent) this._end(...this._peer, true);
  }

  /** @internal The batches taken since the last acknowledgement may be lost: take them again. */
  _rewind(): void {
    this._nx = this._ackd = 0;
    this._outSent = false;
  }

  // ---- internals: what the session asks of the carrier and the page ----

  /** @internal Something is due: the carrier sends it once the current task is done. */
  _kick(): void {
    // Kicks in the same task share the carrier's work: the first flush takes it all.
    queueMicrotask(() => this._ok && this._car?._c._flush());
  }

  /** @internal The session failed: error, then close (not clean). */
  _err(reason: string, code = 1006): void {
    this._end(code, reason, false, true);
  }

  /** @internal The session is over: error first when it failed, then close. */
  _end(code: number, reason: string, clean: boolean, error?: boolean): void {
    if (this._rs > 2) return;
    this._rs = 3;
    this._stopCar();
    this._prb?._c._stop();
    clearTimeout(this._pt);
    clearTimeout(this._dead);
    clearTimeout(this._at);
    clearTimeout(this._closeTimer);
    this._ac.abort();
    if (error) this.dispatchEvent(new Event("error"));
    this.dispatchEvent(closeEvent({ code, reason, wasClean: clean }));
  }
}

/** The readyState constants, on the class and its instances, as on WebSocket. */
export interface PolySock {
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  addEventListener<K extends keyof PolySockEventMap>(
    type: K,
    listener: (this: PolySock, ev: PolySockEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof PolySockEventMap>(
    type: K,
    listener: (this: PolySock, ev: PolySockEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

// The readyState constants on the class and the prototype, as on WebSocket, and the
// prototype's defaults of protocol, extensions and the event handlers.
const proto = PolySock.prototype as unknown as Record<string, unknown>;
STATES.forEach((k, i) => {
  (PolySock as unknown as Record<string, number>)[k] = proto[k] = i;
  proto["on" + EVENTS[i]] = null;
});
proto.protocol = proto.extensions = "";
