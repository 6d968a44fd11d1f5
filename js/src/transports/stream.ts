// The stream carrier (PROTOCOL.md 8.2): one long-lived GET response carrying the server's
// frames, read with fetch and a ReadableStream (binary form), EventSource (SSE) or
// XMLHttpRequest progress events (text form); POSTs carry the client's frames. A response
// that ends after delivering frames was recycled by the server: the carrier continues on
// a new GET that acknowledges what came. One that ends having delivered nothing failed.
// After the server's CLOSE the stream ends with the session: it is not reopened.

import { decodeLine, type Frame } from "../wire.js";
import { FETCH, guard, http, type Carrier, type Failure, type Link } from "./carrier.js";
import { held } from "./post.js";

/** How a stream is read. */
export type StreamKind = "fetch" | "eventsource" | "xhr";

/** The best way to read a stream here: fetch with streams, else EventSource, else XHR. */
export const streamKind = (): StreamKind | "" =>
  FETCH ? "fetch" : typeof EventSource == "function" ? "eventsource" : typeof XMLHttpRequest == "function" ? "xhr" : "";

// Reads one SSE response: each event is one batch, one frame per line.
function eventsource(l: Link, frame: (f: Frame) => void, end: (f: Failure | null) => void): () => void {
  const es = new EventSource(l._s._url("stream", "sse"), { withCredentials: true });
  es.onmessage = (e: MessageEvent<string>) => guard(l, () => e.data.split("\n").forEach((s) => frame(decodeLine(s))));
  // EventSource would reconnect with the same URL: end it, the carrier goes on or fails.
  es.onerror = () => {
    es.close();
    end(null);
  };
  return () => es.close();
}

/** Opens a stream carrier read the given way. */
export const stream = (l: Link, kind: StreamKind): Carrier =>
  held(
    l,
    (frame, end) =>
      kind == "eventsource"
        ? eventsource(l, frame, end)
        : http(l, l._s._url("stream", kind == "xhr" ? "text" : "bin"), null, frame, end, kind == "xhr"),
    false,
  );
