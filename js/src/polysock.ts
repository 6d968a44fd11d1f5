// PolySock: the browser WebSocket API over whichever transport works (DESIGN.md, "The
// client picks the best transport"). The class owns the API surface (attributes, events,
// exceptions), the choice of carrier and the liveness watch; the Session keeps the
// message stream, whatever carries it.

import { ALL, isAnswer, plan, recall, remember, timeoutFor } from "./select.js";
import { Session, size } from "./session.js";
import type { Carrier } from "./transports/carrier.js";
import { poll } from "./transports/poll.js";
import { stream, streamKind } from "./transports/stream.js";
import { NativeWebSocket, websocket } from "./transports/websocket.js";
import { closeArgs, endpoint, fail, protocolList, utf8 } from "./url.js";
import { CLOSE, CLOSE_REPLACED, OPEN, VERSION, WireError, type Frame, type Open } from "./wire.js";

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
  /** How long to remember, per origin, which transport worked, in ms. 0: never. Default one hour. */
  remember?: number;
  /**
   * How the stream transport reads its response: "fetch" (binary, streams), "eventsource"
   * (SSE, text) or "xhr" (progress events, text). "" picks the first available. Default "".
   */
  stream?: "fetch" | "eventsource" | "xhr" | "";
  /** Log each connection decision to the console. Default false. */
  debug?: boolean;
}

/** The option defaults. Changing them changes the defaults of later PolySocks. */
export const DEFAULTS: Required<Options> = {
  transports: ALL,
  timeout: 2000,
  remember: 3600000,
  stream: "",
  debug: false,
};

/** The events of a PolySock, as those of a WebSocket. */
export interface PolySockEventMap {
  open: Event;
  message: MessageEvent<string | ArrayBuffer | Blob>;
  error: Event;
  close: CloseEvent;
}

/** What send takes: the types WebSocket.send takes. */
export type SendData = string | ArrayBufferLike | ArrayBufferView | Blob;

type Handler<E> = ((this: PolySock, ev: E) => unknown) | null;

/** How long the last transport of the list may take to open the session, ms. */
const LAST_TIMEOUT = 30000;

const STATES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"] as const;
const EVENTS = ["open", "message", "error", "close"];

const closeEvent = (code: number, reason: string, wasClean: boolean): Event =>
  typeof CloseEvent == "function"
    ? new CloseEvent("close", { code, reason, wasClean })
    : Object.assign(new Event("close"), { code, reason, wasClean });

// Whether a transport can run here. Polling needs fetch or XMLHttpRequest, which every
// environment with a way to stream has too.
const available = (t: Transport): boolean => (t == "websocket" ? !!NativeWebSocket : !!streamKind());

let nonce = 0;

// Reads an OPEN body. The client checks only what it relies on (version, sid, token) and
// reads the members it uses (protocol, ack, ping, maxBody); wire.parseOpen's full member
// type check would cost a tenth of the size budget for no behaviour a client needs.
const open = (json: string): Open => {
  const o = JSON.parse(json) as Open;
  if (o.v !== VERSION || !o.sid || !o.token) throw new WireError("malformed", "bad OPEN");
  return o;
};

/**
 * A WebSocket-compatible connection to a polysock endpoint. It carries one session over a
 * native WebSocket, an HTTP stream or long-polling, whichever works, with the WebSocket
 * API: the same attributes, events, event order and exceptions.
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
  /** @internal */ _protos: string[];
  /** @internal */ _o: Required<Options>;
  /** @internal */ _s = new Session(this);
  /** @internal */ _lost = 0;
  /** @internal */ _i = -1;
  /** @internal */ _plan: Transport[];
  /** @internal */ declare _open?: Open;
  /** @internal */ declare _max: number;
  /** @internal */ declare _rtt?: number | undefined;
  /** @internal */ declare _t0: number;
  /** @internal */ declare _last: number;
  /** @internal */ declare _car?: Carrier | undefined;
  /** @internal */ declare _timer?: ReturnType<typeof setTimeout> | undefined;
  /** @internal */ declare _dead?: ReturnType<typeof setTimeout>;
  /** @internal */ declare _kicked?: boolean;

  /**
   * Connects to url (ws, wss, http, https or relative to the document) offering the given
   * subprotocols, as new WebSocket(url, protocols) does and with its exceptions.
   * options: see Options and DEFAULTS.
   */
  constructor(url: string | URL, protocols?: string | readonly string[], options?: Options) {
    super();
    [this.url, this._http] = endpoint(url, globalThis.document?.baseURI);
    this._protos = protocolList(protocols);
    const o = (this._o = { ...DEFAULTS, ...options });
    for (const t of EVENTS)
      this.addEventListener(t, (e) => (this as unknown as Record<string, Handler<Event>>)["on" + t]?.call(this, e));
    const mem = o.remember ? recall(this._key, Date.now()) : undefined;
    this._rtt = mem?.rtt;
    this._plan = plan(o.transports, available, mem);
    queueMicrotask(() => this._rs || this._next());
  }

  /** CONNECTING, OPEN, CLOSING or CLOSED. */
  get readyState(): number {
    return this._rs;
  }

  /** Bytes passed to send that have not reached the network. */
  get bufferedAmount(): number {
    return this._s._queued + this._lost + (this._car?._buffered?.() ?? 0);
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
   * is read first, in order). InvalidStateError while CONNECTING; after close, the data
   * only adds to bufferedAmount.
   */
  send(data: SendData): void {
    if (!this._rs) fail("InvalidStateError", "CONNECTING");
    const text = !(data instanceof Blob || data instanceof ArrayBuffer || ArrayBuffer.isView(data));
    const d: Uint8Array | Blob = text
      ? utf8(String(data))
      : ArrayBuffer.isView(data)
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
        : data instanceof Blob
          ? data
          : new Uint8Array(data).slice();
    if (this._rs > 1) this._lost += size(d);
    else this._s._push(text, d);
  }

  /**
   * Closes the session, as WebSocket.close: code 1000 or 3000–4999
   * (InvalidAccessError), reason at most 123 bytes of UTF-8 (SyntaxError). Messages sent
   * before are delivered first.
   */
  close(code?: number, reason?: string): void {
    const c = closeArgs(code, reason);
    if (this._rs > 1) return;
    if (!this._rs) {
      this._rs = 2;
      this._stopCar();
      setTimeout(() => this._end(1006, "", false, true));
      return;
    }
    this._rs = 2;
    this._s._close(...c);
  }

  /**
   * Installs PolySock as the global WebSocket when there is none, or always with force.
   * Returns whether it did. The native WebSocket is still used as a transport.
   */
  static polyfill(options?: { force?: boolean }): boolean {
    const g = globalThis as { WebSocket?: unknown };
    if (!options?.force && typeof g.WebSocket == "function") return false;
    g.WebSocket = PolySock;
    return true;
  }

  // ---- internals: sending ----

  // ---- internals: choosing the carrier ----

  /** @internal The origin key of the transport memory. */
  get _key(): string {
    return new URL(this._http).origin;
  }

  /** @internal */
  _log(...a: unknown[]): void {
    if (this._o.debug) console.log("polysock", ...a);
  }

  /** @internal Starts the next attempt of the plan, or fails when none is left. */
  _next(): void {
    this._stopCar();
    const t = this._plan[++this._i];
    if (!t) return this._end(1006, "no transport", false, true);
    const ms = this._i + 1 < this._plan.length ? timeoutFor(this._o.timeout, this._rtt) : LAST_TIMEOUT;
    this._log("try", t, ms);
    this._t0 = Date.now();
    this._timer = setTimeout(() => {
      this._log("timeout");
      this._next();
    }, ms);
    try {
      this._car = t == "websocket" ? websocket(this) : t == "stream" ? stream(this, this._o.stream || streamKind() || "xhr") : poll(this);
    } catch (e) {
      this._fail(0, String(e));
    }
  }

  /** @internal */
  _stopCar(): void {
    clearTimeout(this._timer);
    this._car?._stop();
    this._car = undefined;
  }

  // ---- internals: the Link of the carriers ----

  /** @internal The URL of a carrier request (PROTOCOL.md section 2). */
  _url(t?: string, e?: string): string {
    const q = ["ps_v=1"];
    const base = t == "websocket" ? this.url : this._http;
    if (t && t != "websocket") q.push("ps_t=" + t, "ps_e=" + e, "ps_r=" + Date.now().toString(36) + ++nonce);
    if (this._open) {
      q.push("ps_sid=" + this._open.sid, "ps_tok=" + this._open.token);
      if (t) {
        q.push("ps_ack=" + this._s._acc);
        this._s._acking(this._s._acc);
      }
    } else if (this._protos.length) q.push("ps_p=" + encodeURIComponent(this._protos.join()));
    return base + (base.includes("?") ? "&" : "?") + q.join("&");
  }

  /** @internal */
  _frame(f: Frame): void {
    this._heard();
    if (f.type == OPEN) this._opened(open(f.data));
    // 4005: a newer carrier replaced this one. Before OPEN, a CLOSE is the server's answer.
    else if (f.type == CLOSE && (f.code == CLOSE_REPLACED || !this._open)) this._fail(f.code == CLOSE_REPLACED ? 0 : f.code, f.data);
    else if (this._open) this._s._receive(f);
  }

  /** @internal */
  _heard(): void {
    this._last = Date.now();
  }

  /**
   * @internal The current carrier cannot go on: code is the server's close code, a
   * decoding error's, or 0 for a transport failure.
   */
  _fail(code: number, reason: string): void {
    if (this._rs > 2 || (!this._open && this._rs > 1)) return;
    if (this._open || isAnswer(code)) return this._end(code || 1006, reason, false, true);
    // Before OPEN, anything but the server's answer moves on to the next transport.
    this._log("fail", reason);
    this._next();
  }

  /** @internal The session's OPEN, on the first carrier or a continuing one. */
  _opened(o: Open): void {
    if (this._open) return this._s._ack(o.ack); // a recycled stream goes on
    const rtt = Date.now() - this._t0;
    const t = this._plan[this._i]!;
    clearTimeout(this._timer);
    this._open = o;
    this._max = o.maxBody - 1024;
    (this as { protocol: string }).protocol = o.protocol;
    this._log("open", t, rtt);
    if (this._o.remember) remember(this._key, { t, rtt, exp: Date.now() + this._o.remember });
    this._watch((2 * o.ping || 50000) + 5000);
    this._rs = 1;
    this.dispatchEvent(new Event("open"));
  }

  /** @internal Declares the carrier dead after limit ms of silence (PROTOCOL.md 7). */
  _watch(limit: number): void {
    const left = this._last + limit - Date.now();
    if (this._rs > 2) return;
    if (left > 0) this._dead = setTimeout(() => this._watch(limit), left);
    else this._fail(0, "silent server");
  }

  // ---- internals: the Host of the session ----

  /** @internal Something is due: the carrier sends it once the current task is done. */
  _kick(): void {
    if (this._kicked) return;
    this._kicked = true;
    queueMicrotask(() => {
      this._kicked = false;
      if (this._open) this._car?._flush();
    });
  }

  /** @internal */
  _msg(d: string | Uint8Array): void {
    if (this._rs > 2) return;
    const data = typeof d == "string" ? d : this._bt == "blob" ? new Blob([d as Uint8Array<ArrayBuffer>]) : d.slice().buffer;
    this.dispatchEvent(new MessageEvent("message", { data, origin: new URL(this.url).origin }));
  }

  /** @internal */
  _closing(): void {
    this._rs = 2;
  }

  /** @internal The session is over: error first when it failed, then close. */
  _end(code: number, reason: string, clean: boolean, error: boolean): void {
    if (this._rs > 2) return;
    this._rs = 3;
    this._stopCar();
    clearTimeout(this._dead);
    this._s._finish(code, reason, clean);
    this._log("close", code, reason);
    if (error) this.dispatchEvent(new Event("error"));
    this.dispatchEvent(closeEvent(code, reason, clean));
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
