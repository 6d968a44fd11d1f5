// The poll carrier (PROTOCOL.md 8.3): one held GET at a time, each answered with every
// queued frame (or nothing after the hold time) and followed at once by the next, which
// acknowledges what came; POSTs carry the client's frames. After the server's CLOSE
// nothing more can come: polling stops while the answer goes out.

import { http, type Carrier, type Link } from "./carrier.js";
import { sender } from "./post.js";

/** Opens a poll carrier. */
export function poll(l: Link): Carrier {
  const post = sender(l);
  let abort = () => {};
  const next = () => {
    abort = http(l, l._url("poll", "bin"), null, (f) => l._frame(f), (f) => {
      if (f) l._fail(...f);
      else if (!l._s._peer) {
        l._heard();
        next();
      }
    });
  };
  next();
  return {
    _flush: post._flush,
    _stop() {
      abort();
      post._stop();
    },
  };
}
