// The poll carrier (PROTOCOL.md 8.3): one held GET at a time, each answered with every
// queued frame (or nothing after the hold time) and followed at once by the next, which
// acknowledges what came; POSTs carry the client's frames. After the server's CLOSE
// nothing more can come: polling stops while the answer goes out.

import { http, type Carrier, type Link } from "./carrier.js";
import { held } from "./post.js";

/** Opens a poll carrier. */
export const poll = (l: Link): Carrier => held(l, (frame, end) => http(l, l._s._url("poll", "bin"), null, frame, end), true);
