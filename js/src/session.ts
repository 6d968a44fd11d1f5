// The client side of a session (PROTOCOL.md sections 6, 7 and 9), independent of the
// carrier: message numbering, the replay buffer, cumulative ACKs (piggybacked, at most
// 100 ms late), duplicate and gap detection, PING answers and the close handshake. A
// carrier pulls batches with _take and reports what happened to them; the session tells
// its Host what to deliver and when to send.

import { ACK, BINARY, CLOSE, PONG, PING, TEXT, type Frame, type OutFrame } from "./wire.js";

/** What a Session asks of its owner. */
export interface Host {
  /** There is something to send: the carrier should call _take when it can write. */
  _kick(): void;
  /** The next message from the peer, in order: a string for text, bytes for binary. */
  _msg(data: string | Uint8Array): void;
  /** The peer started the close handshake; the answer is queued. */
  _closing(): void;
  /** The session is over. error: it failed rather than closed. Called once. */
  _end(code: number, reason: string, clean: boolean, error: boolean): void;
}

/** How long an ACK may wait (PROTOCOL.md section 6 rule 3), ms. */
export const ACK_DELAY = 100;
/** How many unacknowledged messages make the ACK immediate. */
export const ACK_COUNT = 64;
/** How long our CLOSE waits for the answer before the session ends uncleanly (PROTOCOL.md 9), ms. */
export const CLOSE_TIMEOUT = 5000;

// A message: its frame type and payload, a Blob until it has been read.
interface Msg {
  t: typeof TEXT | typeof BINARY;
  d: Uint8Array | Blob;
}

/** The byte size of a payload. */
export const size = (d: Uint8Array | Blob): number => (d as Blob).size ?? (d as Uint8Array).length;

export class Session {
  /** How many of our messages the peer acknowledged. */
  _acked = 0;
  /** Our messages _acked+1 …, kept until acknowledged (the replay buffer). */
  _buf: Msg[] = [];
  /** Index in _buf of the first message not yet taken on the current carrier. */
  _next = 0;
  /** How many of the peer's messages were accepted, in order. */
  _acc = 0;
  /** The last acknowledgement count sent. */
  _ackd = 0;
  _pongs: Uint8Array[] = [];
  /** The ACK timer and the close handshake timer. */
  declare _timer?: ReturnType<typeof setTimeout> | undefined;
  declare _closeTimer?: ReturnType<typeof setTimeout>;
  /** Our CLOSE (the app's, or the answer to the peer's) and whether it was taken. */
  declare _out?: OutFrame;
  declare _outSent?: boolean;
  /** The peer's CLOSE, when the peer started the handshake. */
  declare _peer?: [number, string];
  declare _done?: boolean;

  constructor(readonly _h: Host) {}

  /**
   * Queues a message (text: UTF-8 bytes). Ignored once closing. A Blob is read first; the
   * messages after it wait, so the order is kept.
   */
  _push(text: boolean, d: Uint8Array | Blob): void {
    if (this._out) return;
    const m: Msg = { t: text ? TEXT : BINARY, d };
    this._buf.push(m);
    if (d instanceof Blob)
      d.arrayBuffer().then(
        (b) => {
          m.d = new Uint8Array(b);
          this._h._kick();
        },
        () => this._finish(1006, "Blob unreadable", false, true),
      );
    else this._h._kick();
  }

  /** Queues our CLOSE after every queued message. code 0: a CLOSE without code. */
  _close(code: number, reason: string): void {
    if (this._out) return;
    this._out = { type: CLOSE, seq: 0, code, data: reason };
    this._h._kick();
  }

  /** Payload bytes queued and not yet taken by a carrier. */
  get _queued(): number {
    let n = 0;
    for (let i = this._next; i < this._buf.length; i++) n += size(this._buf[i]!.d);
    return n;
  }

  /** Processes one inbound frame other than OPEN. */
  _receive(f: Frame): void {
    if (this._done) return;
    switch (f.type) {
      case TEXT:
      case BINARY:
        if (f.seq > this._acc + 1) return this._finish(1002, "sequence gap", false, true);
        if (f.seq <= this._acc || this._peer) return; // a duplicate, or data after CLOSE
        this._h._msg(f.data);
        if (++this._acc - this._ackd >= ACK_COUNT) this._h._kick();
        else
          this._timer ||= setTimeout(() => {
            this._timer = undefined;
            this._h._kick();
          }, ACK_DELAY);
        return;
      case ACK:
        return this._ack(f.seq);
      case PING:
        this._pongs.push(f.data);
        return this._h._kick();
      case CLOSE:
        // The answer to our CLOSE ends the session; otherwise the peer is closing and
        // gets our CLOSE (the one queued, or an echo of its own) as the answer.
        if (this._outSent) return this._finish(f.code || 1005, f.data, true);
        this._peer = [f.code || 1005, f.data];
        this._out ||= { type: CLOSE, seq: 0, code: f.code, data: f.data };
        this._h._closing();
        this._h._kick();
    }
  }

  /** Takes a cumulative acknowledgement of our messages (an ACK, OPEN or POST answer). */
  _ack(n: number): void {
    const k = n - this._acked;
    if (k > this._buf.length) return this._finish(1002, "impossible ACK", false, true);
    if (k > 0) {
      this._buf.splice(0, k);
      this._next = Math.max(0, this._next - k);
      this._acked = n;
    }
  }

  /** Records that acknowledgement count n went to the peer (in a frame or a GET's ps_ack). */
  _acking(n: number): void {
    this._ackd = n;
    clearTimeout(this._timer);
    this._timer = undefined;
  }

  /**
   * The next batch for the carrier: the ACK when one is due, PONGs, then messages not yet
   * taken up to about max payload bytes (at least one), then our CLOSE once every
   * message is taken. Empty when there is nothing to send.
   */
  _take(max: number): OutFrame[] {
    const out: OutFrame[] = [];
    if (this._acc > this._ackd) {
      out.push({ type: ACK, seq: this._acc, code: 0, data: "" });
      this._acking(this._acc);
    }
    for (const p of this._pongs) out.push({ type: PONG, seq: 0, code: 0, data: p });
    this._pongs = [];
    for (let m, size = 0; (m = this._buf[this._next]) && !(m.d instanceof Blob); ) {
      size += m.d.length + 16; // payload plus the most a frame header and seq take
      if (size > max && out.length) break;
      out.push({ type: m.t, seq: this._acked + ++this._next, code: 0, data: m.d });
    }
    if (this._out && !this._outSent && !this._buf[this._next]) {
      out.push(this._out);
      this._outSent = true;
      this._closeTimer ||= setTimeout(() => this._finish(1006, "close timeout", false), CLOSE_TIMEOUT);
    }
    return out;
  }

  /** The batches taken so far reached the peer: a CLOSE answer among them ends the session. */
  _written(): void {
    if (this._peer && this._outSent) this._finish(...this._peer, true);
  }

  /** The batches taken since the last acknowledgement may be lost: take them again. */
  _rewind(): void {
    this._next = this._ackd = 0;
    this._outSent = false;
  }

  /** Ends the session once: the Host's _end is called with these arguments. */
  _finish(code: number, reason: string, clean: boolean, error = false): void {
    if (this._done) return;
    this._done = true;
    clearTimeout(this._timer);
    clearTimeout(this._closeTimer);
    this._h._end(code, reason, clean, error);
  }
}
