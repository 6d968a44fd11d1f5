// Argument checks of the WebSocket API, with the exceptions the native constructor,
// send and close throw (WHATWG WebSockets, "new WebSocket" and "close"): real
// DOMExceptions with the native names.

/** Throws a DOMException named name. */
export const fail = (name: string, msg: string): never => {
  throw new DOMException(msg, name);
};

/** An RFC 7230 token, the grammar of a subprotocol name. */
const TOKEN = /^[!#$%&'*+.^_`|~\w-]+$/;

/** UTF-8 bytes of s, lone surrogates replaced by U+FFFD, as USVString conversion does. */
export { utf8Bytes as utf8 } from "./wire.js";
import { utf8Bytes as utf8 } from "./wire.js";

/**
 * Resolves a WebSocket URL as the native constructor does, against the document's base
 * URL where there is one: http maps to ws and https to wss; other schemes and fragments
 * are a SyntaxError. Returns the ws(s) form (the url attribute) and the http(s) form (the
 * endpoint of the HTTP transports).
 */
export function endpoint(url: string | URL, base?: string): [ws: string, http: string] {
  let u: URL | undefined;
  try {
    u = new URL(String(url), base);
  } catch {
    // reported below
  }
  const p = u?.protocol.replace(/^http/, "ws");
  // A fragment, even an empty one, is refused; the serialization shows it as '#'.
  if (!u || (p != "ws:" && p != "wss:") || u.href.includes("#")) return fail("SyntaxError", "url");
  u.protocol = p;
  const ws = u.href;
  u.protocol = "http" + p.slice(2);
  return [ws, u.href];
}

/** Normalizes the protocols argument: a token list without repeats, else SyntaxError. */
export function protocolList(protocols?: string | readonly string[]): string[] {
  const list = protocols === undefined ? [] : typeof protocols === "string" ? [protocols] : [...protocols].map(String);
  list.forEach((p, i) => {
    if (!TOKEN.test(p) || list.indexOf(p) != i) fail("SyntaxError", "protocols");
  });
  return list;
}

/**
 * Checks the arguments of close as the native method does: a code must be 1000 or
 * 3000–4999 (InvalidAccessError), a reason at most 123 bytes of UTF-8 (SyntaxError).
 * Returns the code to send (0 for none: no code and no reason; 1000 for a reason
 * without a code) and the reason.
 */
export function closeArgs(code?: number, reason?: string): [number, string] {
  if (code !== undefined) {
    code = Math.round(+code) || 0; // WebIDL [Clamp] unsigned short, close enough
    if (code != 1000 && !(code >= 3000 && code <= 4999)) fail("InvalidAccessError", "code");
  }
  const r = reason === undefined ? "" : String(reason);
  if (utf8(r).length > 123) fail("SyntaxError", "reason");
  return [code ?? (reason === undefined ? 0 : 1000), r];
}
