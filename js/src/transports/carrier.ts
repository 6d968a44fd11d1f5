// What every carrier shares: its interface to the PolySock that owns it (Link), its own
// interface (Carrier), and the HTTP request of the stream, poll and POST (fetch, or
// XMLHttpRequest where fetch cannot stream), with the error answers of PROTOCOL.md 9.1.

import type { PolySock } from "../polysock.js";
import { decoder, HEADER_CLOSE, WireError, decodeBatch, decodeLine, type Frame } from "../wire.js";

/**
 * The owner of a carrier: each carrier gets its own Link, so the owner knows which
 * carrier called (the current one, a background probe, or a stale one it ignores). A
 * stopped carrier calls none of these.
 */
export interface Link {
  /** An inbound frame, in order. */
  _frame(f: Frame): void;
  /**
   * The carrier cannot go on. code: the server's close code (its answer, with reason), a
   * WebSocket's close code, a decoding error's (1002, 1007), or 0 for a transport failure.
   * Before the session opened, only the server's answers (select.isAnswer) end it.
   */
  _fail(code: number, reason: string): void;
  /**
   * The owner. Carriers call, on any Link: _url(t, e), the URL of a request (ps_t t and
   * ps_e e for a GET, none for a POST); _heard(), anything was heard from the server (a
   * frame or an HTTP answer); _take, _written and _rewind for the session's batches; and
   * read _prb: while a WebSocket probe is pending, a carrier makes no other carrier
   * request (the next poll, a recycled stream), since the server would take it as a
   * newer carrier and replace the probe; the carrier fails instead (code 0). _peer: the
   * server closed the session.
   */
  readonly _s: PolySock;
}

/** A carrier of the session: one transport's requests or connection. */
export interface Carrier {
  /** Sends what the session has to send, when the carrier can. */
  _flush(): void;
  /** Stops at once, without further calls to the Link. */
  _stop(): void;
  /** Bytes the carrier holds that have not reached the network. */
  _buffered?(): number;
}

/** A failed request: the server's close code and reason, or code 0 and a description. */
export type Failure = [code: number, reason: string];

/** Decides a non-200 answer: the server's X-PolySock-Close, or a transport failure. */
export const failure = (status: number, header: string | null, body: string): Failure => {
  const code = +header!; // null: 0
  return code ? [code, body.replace(/^\d+ |\n$/g, "")] : [0, "HTTP " + status];
};

/**
 * Runs fn, which decodes input and hands its frames to l, and reports whether it
 * succeeded. A decoding error fails the carrier with its close code (1002 or 1007),
 * anything else as a transport failure.
 */
export function guard(l: Link, fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    l._fail(e instanceof WireError ? e.closeCode : 0, String(e));
    return false;
  }
}

const dec = new TextDecoder();
const BIN = "application/octet-stream";
/** Whether fetch can stream response bodies here; XMLHttpRequest is used where not. */
export const FETCH = !!((globalThis as Partial<typeof globalThis>).fetch && globalThis.ReadableStream);

/**
 * Performs one request: a GET (body null) or a POST of a binary batch. The response's
 * frames go to frame as they arrive, decoded from the binary form, or with text from the
 * text form read through XMLHttpRequest progress events (the XHR stream). end is called
 * once, with null when the response ended, or with the failure; a decoding error fails l
 * instead. Nothing is called after the returned abort function. Uses fetch, or
 * XMLHttpRequest where fetch cannot stream; cookies go along, as with WebSocket.
 */
export function http(
  l: Link,
  url: string,
  body: Uint8Array | null,
  frame: (f: Frame) => void,
  end: (f: Failure | null) => void,
  text?: boolean,
): () => void {
  let live = true;
  const method = body ? "POST" : "GET";
  const f = (fr: Frame) => live && frame(fr);
  const fin = (fl: Failure | null) => live && end(fl);
  if (FETCH && !text) {
    const ctl = new AbortController();
    fetch(url, { method, body: body as Uint8Array<ArrayBuffer> | null, headers: body ? { "Content-Type": BIN } : {}, credentials: "include", signal: ctl.signal })
      .then(async (r) => {
        if (r.status != 200) return fin(failure(r.status, r.headers.get(HEADER_CLOSE), await r.text()));
        const rd = r.body!.getReader();
        const d = decoder();
        for (let c; !(c = await rd.read()).done; ) if (!guard(l, () => d.push(c.value, f))) return rd.cancel();
        if (guard(l, () => d.end())) fin(null);
      })
      .catch((e) => fin([0, String(e)]));
    return () => {
      live = false;
      ctl.abort();
    };
  }
  const x = new XMLHttpRequest();
  let at = 0;
  x.open(method, url);
  x.withCredentials = true;
  if (!text) x.responseType = "arraybuffer";
  if (body) x.setRequestHeader("Content-Type", BIN);
  x.onprogress = x.onload = (e) => {
    const load = e.type == "load";
    if (x.status != 200) {
      if (load) fin(failure(x.status, x.getResponseHeader(HEADER_CLOSE), text ? x.responseText : dec.decode(x.response as ArrayBuffer)));
    } else if (
      guard(l, () => {
        if (text) {
          const t = x.responseText;
          for (let lf; (lf = t.indexOf("\n", at)) >= 0; at = lf + 1) f(decodeLine(t.slice(at, lf)));
        } else if (load) decodeBatch(new Uint8Array(x.response as ArrayBuffer), f);
      }) &&
      load
    )
      fin(null);
  };
  x.onerror = () => fin([0, "xhr"]);
  x.send(body as Uint8Array<ArrayBuffer> | null); // encodeBatch allocates plain ArrayBuffers
  return () => {
    live = false;
    x.abort();
  };
}
