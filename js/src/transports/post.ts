// The client→server half of the HTTP transports (PROTOCOL.md 8.4): one POST in flight,
// carrying every frame due as one binary batch; the answer's ACK trims the replay buffer.
// A POST that fails without an answer from the server is retried from the last ACK + 1,
// after a growing pause, up to RETRIES times.

import { encodeBatch } from "../wire.js";
import { http, type Carrier, type Link } from "./carrier.js";

/** How many times in a row a POST may fail before the carrier is given up. */
export const RETRIES = 3;

/** Creates the POST sender of a stream or poll carrier. */
export function sender(l: Link): Carrier {
  let busy = false;
  let tries = 0;
  let abort = () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (busy) return;
    const b = l._s._take(l._max);
    if (!b.length) return;
    busy = true;
    abort = http(l, l._url(), encodeBatch(b), (f) => l._frame(f), (f) => {
      if (!f) {
        busy = false;
        tries = 0;
        l._heard();
        l._s._written();
        flush();
      } else if (f[0] || ++tries > RETRIES) l._fail(...f);
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
