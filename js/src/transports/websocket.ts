// The WebSocket carrier (PROTOCOL.md 8.1): one native WebSocket whose binary messages
// each hold one batch in the binary form, both ways.

import { decodeBatch, encodeBatch } from "../wire.js";
import { guard, type Carrier, type Link } from "./carrier.js";

/** The native WebSocket, captured when this module loads, before any polyfill replaces it. */
export const NativeWebSocket: typeof WebSocket | undefined = (globalThis as Partial<typeof globalThis>).WebSocket;

/** Opens a WebSocket carrier. Throws what the native constructor throws. */
export function websocket(l: Link): Carrier {
  const ws = new NativeWebSocket!(l._s._url("websocket"));
  let live = true;
  ws.binaryType = "arraybuffer";
  ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
    const d = e.data;
    // The server sends only binary messages; a text one is a protocol error.
    if (typeof d == "string") l._fail(1002, "text");
    else guard(l, () => decodeBatch(new Uint8Array(d), (f) => live && l._frame(f)));
  };
  // Browsers follow an error with close (1006); some runtimes (Node 20) never do, so an
  // error (code 0 then) fails the carrier too.
  ws.onclose = ws.onerror = (e) => live && l._fail((e as CloseEvent).code | 0, (e as CloseEvent).reason || e.type);
  return {
    _flush() {
      for (let b; ws.readyState == 1 && (b = l._s._take()).length; ) {
        ws.send(encodeBatch(b));
        l._s._written();
      }
    },
    _stop() {
      live = false;
      ws.onclose = ws.onerror = ws.onmessage = null;
      ws.close();
    },
    _buffered: () => ws.bufferedAmount,
  };
}
