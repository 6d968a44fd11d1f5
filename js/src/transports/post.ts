// The client→server half of the HTTP transports (PROTOCOL.md 8.4): one POST in flight,
// carrying every frame due as one binary batch; the answer's ACK trims the replay buffer.
// A POST that fails without an answer from the server is retried from the last ACK + 1,
// after a growing pause, up to 3 times in a row; then the carrier is given up.

import { encodeBatch, type Frame } from "../wire.js";
import { http, type Carrier, type Failure, type Link } from "./carrier.js";

/** Creates the POST sender of a stream or poll carrier. */
export function sender(l: Link): Carrier {
  let busy = false;
  let tries = 0;
  let abort = () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (busy) return;
    const b = l._s._take();
    if (!b.length) return;
    busy = true;
    abort = http(l, l._s._url(), encodeBatch(b), l._frame, (f) => {
      if (!f) {
        busy = false;
        tries = 0;
        l._s._heard();
        l._s._written();
        flush();
      } else if (f[0] || ++tries > 3) l._fail(...f); // 3 retries
      else {
        l._s._rewind();
        timer = setTimeout(() => {
          busy = false;
          flush();
        }, 250 << tries);
      }
    });
  };
  return {
    _flush: flush,
    _stop() {
      clearTimeout(timer);
      abort();
      busy = true;
    },
  };
}

/**
 * Opens an HTTP carrier: the server→client GETs made by start (which returns their abort
 * function) one after another, and the POST sender. A GET that ends without failing is
 * followed by the next, unless the server closed the session or a probe is pending; a
 * stream's GET (empty false) must have delivered a frame other than PAD for that.
 */
export function held(l: Link, start: (frame: (f: Frame) => void, end: (f: Failure | null) => void) => () => void, empty: boolean): Carrier {
  const post = sender(l);
  let live = true;
  let got = empty;
  let abort = () => {};
  const frame = (f: Frame) => {
    if (live) {
      got ||= f.type > 0; // anything but PAD
      l._frame(f);
    }
  };
  const end = (f: Failure | null) => live && !l._s._peer && (f ? l._fail(...f) : got && (l._s._heard(), !l._s._prb) ? open() : l._fail(0, "ended"));
  const open = () => {
    got = empty;
    abort = start(frame, end);
  };
  open();
  return {
    _flush: post._flush,
    _stop() {
      live = false;
      abort();
      post._stop();
    },
  };
}
