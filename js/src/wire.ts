// Codec of the polysock wire protocol, version 1 (PROTOCOL.md sections 4 and 5): frames
// in the binary form (WebSocket messages, binary HTTP bodies) and the text form (lines,
// for EventSource, text HTTP bodies). The TypeScript twin of the Go package internal/wire:
// both follow the same strict rules and share the golden vectors in
// internal/wire/testdata/vectors.json. No runtime dependencies; pure functions apart
// from the streaming Decoder.

/** Protocol version. */
export const VERSION = 1;
/** Largest sequence number, count or length: 2^53−1. */
export const MAX_SAFE = 9007199254740991;
/** Largest PING or PONG payload, in bytes. */
export const MAX_CONTROL_PAYLOAD = 125;
/** Largest CLOSE reason, in bytes of UTF-8. */
export const MAX_REASON_BYTES = 123;

// Frame types, with their binary codes.
export const PAD = 0;
export const OPEN = 1;
export const TEXT = 2;
export const BINARY = 3;
export const ACK = 4;
export const PING = 5;
export const PONG = 6;
export const CLOSE = 7;

// Close codes (PROTOCOL.md section 9). 1005 and 1006 are reported, never sent.
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_UNSUPPORTED_DATA = 1003;
export const CLOSE_NO_STATUS = 1005;
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_INVALID_PAYLOAD = 1007;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_MESSAGE_TOO_BIG = 1009;
export const CLOSE_INTERNAL_ERROR = 1011;
export const CLOSE_SERVICE_RESTART = 1012;
export const CLOSE_TRY_AGAIN_LATER = 1013;
export const CLOSE_UNSUPPORTED_VERSION = 4001;
export const CLOSE_BAD_REQUEST = 4002;
export const CLOSE_UNKNOWN_SESSION = 4004;
export const CLOSE_REPLACED = 4005;
export const CLOSE_RESUME_EXPIRED = 4006;
export const CLOSE_PEER_TOO_SLOW = 4008;

// Query parameters of carrier requests (PROTOCOL.md section 2).
export const PARAM_VERSION = "ps_v";
export const PARAM_TRANSPORT = "ps_t";
export const PARAM_ENCODING = "ps_e";
export const PARAM_SESSION = "ps_sid";
export const PARAM_TOKEN = "ps_tok";
export const PARAM_ACK = "ps_ack";
export const PARAM_PROTOCOLS = "ps_p";
export const PARAM_NONCE = "ps_r";

// Transport names and GET response encodings (ps_e).
export const TRANSPORT_WEBSOCKET = "websocket";
export const TRANSPORT_STREAM = "stream";
export const TRANSPORT_POLL = "poll";
export const ENCODING_BINARY = "bin";
export const ENCODING_TEXT = "text";
export const ENCODING_SSE = "sse";

// Content types of HTTP bodies and headers of HTTP error answers.
export const CONTENT_TYPE_BINARY = "application/octet-stream";
export const CONTENT_TYPE_TEXT = "text/plain; charset=utf-8";
export const HEADER_CLOSE = "X-PolySock-Close";
export const HEADER_VERSION = "X-PolySock-Version";

/** Frames whose payload is bytes. ACK carries an empty data; PAD's data is filler. */
export interface BytesFrame {
  type: typeof PAD | typeof BINARY | typeof ACK | typeof PING | typeof PONG;
  /** BINARY: message number (≥ 1). ACK: acknowledged count. Otherwise 0. */
  seq: number;
  /** Always 0. */
  code: number;
  data: Uint8Array;
}

/** Frames whose payload is text: TEXT message, OPEN JSON body, CLOSE reason. */
export interface StringFrame {
  type: typeof OPEN | typeof TEXT | typeof CLOSE;
  /** TEXT: message number (≥ 1). Otherwise 0. */
  seq: number;
  /** CLOSE: close code, 0 for "no code" (reported as 1005). Otherwise 0. */
  code: number;
  data: string;
}

/**
 * A decoded frame. Decoders return frames whose data aliases their input where it is
 * bytes: the decoders never modify it, and neither should callers.
 */
export type Frame = BytesFrame | StringFrame;

/**
 * A frame to encode. Data may be either form for any type: a string is encoded as UTF-8
 * and bytes of a TEXT frame or CLOSE reason are taken as UTF-8 as they are. Encoders do
 * not validate: callers build frames from values they checked (seq ≥ 1 and ≤ MAX_SAFE,
 * valid close code, reason ≤ 123 bytes, PING payload ≤ 125 bytes, well-formed strings).
 */
export interface OutFrame {
  type: number;
  seq: number;
  code: number;
  data: Uint8Array | string;
}

/** What kind of input a decoder rejected. */
export type WireErrorKind = "malformed" | "utf8" | "truncated";

/**
 * A decoding failure. kind "utf8" (invalid UTF-8 where text is required) calls for close
 * code 1007, "malformed" for 1002, and "truncated" means the input ended inside a frame
 * (a complete body that ends this way is malformed).
 */
export class WireError extends Error {
  /** The message is the kind. */
  constructor(readonly kind: WireErrorKind) {
    super(kind);
  }
  /** The close code a receiver sends for this error: 1007 or 1002. */
  get closeCode(): number {
    return this.kind == "utf8" ? CLOSE_INVALID_PAYLOAD : CLOSE_PROTOCOL_ERROR;
  }
}

// The decoders' errors carry only their kind: the bundle has no room for messages.
/** A "malformed" WireError. */
export const malformed = (): WireError => new WireError("malformed");
const badUTF8 = (): WireError => new WireError("utf8");

const EMPTY = new Uint8Array(0);

/** A frame of the given type, data, seq and code. */
export const frame = (type: number, data: Uint8Array | string, seq = 0, code = 0): Frame => ({ type, seq, code, data }) as Frame;
const utf8Encoder = new TextEncoder();
// fatal: reject invalid UTF-8; ignoreBOM: keep a leading U+FEFF as payload.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function utf8(s: Uint8Array): string {
  try {
    return utf8Decoder.decode(s);
  } catch {
    throw badUTF8();
  }
}

/** The UTF-8 bytes of s, lone surrogates replaced by U+FFFD. */
export const utf8Bytes = (s: string): Uint8Array => utf8Encoder.encode(s);
const toBytes = (d: Uint8Array | string): Uint8Array => (typeof d == "string" ? utf8Bytes(d) : d);
const toText = (d: Uint8Array | string): string => (typeof d == "string" ? d : utf8(d));

/** Reports whether code may be sent in a CLOSE frame: 1000–1003, 1007–1014, 3000–4999. */
export function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

// ---- uvarint ----

// The minimal uvarint of v, as bytes.
function uv(v: number): number[] {
  const a = [];
  for (; v >= 128; v = Math.floor(v / 128)) a.push((v % 128) | 128);
  a.push(v);
  return a;
}

// The concatenation of parts, in a new Uint8Array (with a plain ArrayBuffer).
function cat(parts: ArrayLike<number>[]): Uint8Array<ArrayBuffer> {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

// Decodes the minimal uvarint (≤ 8 bytes, ≤ MAX_SAFE) at buf[at..end), returning -1 when
// the input ends inside it. Its size is uv(value).length, since it is minimal.
function uvarint(buf: Uint8Array, at: number, end: number): number {
  let v = 0;
  for (let i = 0, scale = 1; at + i < end; i++, scale *= 128) {
    const b = buf[at + i] as number;
    if (i == 7 && b >= 128) throw malformed();
    v += (b & 127) * scale; // exact below 2^53; past it, still > MAX_SAFE
    if (b < 128) {
      if ((b == 0 && i > 0) || v >= 2 ** 53) throw malformed();
      return v;
    }
  }
  return -1;
}

// ---- binary form ----

/**
 * Encodes frames as one binary-form batch. The result owns a plain ArrayBuffer, so it can
 * go to fetch, XMLHttpRequest.send and WebSocket.send as it is.
 */
export function encodeBatch(frames: readonly OutFrame[]): Uint8Array<ArrayBuffer> {
  const parts: ArrayLike<number>[] = [];
  for (const { type, seq, code, data } of frames) {
    const p = type == ACK || (type == CLOSE && !code) ? EMPTY : toBytes(data);
    const h = type == TEXT || type == BINARY || type == ACK ? uv(seq) : type == CLOSE && code ? [code >> 8, code & 255] : [];
    parts.push([type, ...uv(h.length + p.length), ...h], p);
  }
  return cat(parts);
}

/** Encodes one frame in the binary form. */
export const encodeFrame = (f: OutFrame): Uint8Array<ArrayBuffer> => encodeBatch([f]);

// Decodes the frame at buf[at..), calling fn with it, and returns the offset after it; or,
// when buf ends inside the frame, returns -(offset of its end), or -(buf.length + 1) when
// even its header is incomplete.
function readFrame(buf: Uint8Array, at: number, fn: (f: Frame) => void): number {
  const end = buf.length;
  // At the end of buf, type is undefined and the length below reads as incomplete.
  const type = buf[at] as number;
  if (type > CLOSE) throw malformed();
  const length = uvarint(buf, at + 1, end);
  if (length < 0) return -(end + 1);
  // Reject a length no body of this type can have at once, without waiting for the body.
  if (
    type == TEXT || type == BINARY
      ? !length
      : type == ACK
        ? !length || length > 8
        : type == PING || type == PONG
          ? length > MAX_CONTROL_PAYLOAD
          : type == CLOSE && (length == 1 || length > 2 + MAX_REASON_BYTES)
  ) {
    throw malformed();
  }
  const start = at + 1 + uv(length).length;
  const stop = start + length;
  if (stop > end) return -stop;
  let seq = 0;
  let code = 0;
  let body = buf.subarray(start, stop);
  if (type == TEXT || type == BINARY || type == ACK) {
    seq = uvarint(buf, start, stop);
    if (seq < 0) throw malformed();
    body = buf.subarray(start + uv(seq).length, stop);
    if (type == ACK) {
      if (body.length) throw malformed();
      body = EMPTY;
    } else if (!seq) throw malformed();
  } else if (type == CLOSE && length) {
    code = ((body[0] as number) << 8) | (body[1] as number);
    body = body.subarray(2);
    if (!validCloseCode(code)) throw malformed();
  }
  fn(frame(type, type == TEXT || type == OPEN || type == CLOSE ? utf8(body) : body, seq, code));
  return stop;
}

/**
 * Decodes a complete binary-form batch, calling fn for each frame in order. Throws a
 * WireError ("malformed" or "utf8") at the first bad frame, after fn has seen the frames
 * before it; a batch that ends inside a frame is malformed. An error thrown by fn stops
 * decoding and propagates as is.
 */
export function decodeBatch(buf: Uint8Array, fn: (f: Frame) => void): void {
  for (let at = 0; at < buf.length; ) {
    at = readFrame(buf, at, fn);
    if (at < 0) throw malformed();
  }
}

/**
 * Streaming decoder of binary-form bytes that arrive in chunks of any size (a fetch
 * stream). push calls fn for every frame completed so far and keeps the rest. After an
 * error, from the input or from fn, the decoder must not be used again. Chunks must not
 * be modified after push: frame data may alias them.
 */
export interface Decoder {
  /** Bytes received that do not yet form a complete frame. */
  readonly pending: number;
  /** Adds a chunk. Throws a WireError ("malformed" or "utf8") at the first bad frame. */
  push(chunk: Uint8Array, fn: (f: Frame) => void): void;
  /** Ends the input. Throws a WireError "truncated" if it ended inside a frame. */
  end(): void;
}

/** A new streaming Decoder. */
export const decoder = (): Decoder => {
  let parts: Uint8Array[] = [];
  let size = 0;
  let need = 1; // the bytes that complete the frame being collected
  return {
    get pending() {
      return size;
    },
    push(chunk, fn) {
      parts.push(chunk);
      size += chunk.length;
      if (size < need) return; // still inside the frame being collected
      const buf = cat(parts); // a copy: the rest kept below does not alias the caller's chunk
      let at = 0;
      let next;
      while ((next = readFrame(buf, at, fn)) >= 0) at = next;
      need = -next - at;
      size = buf.length - at;
      parts = [buf.subarray(at)];
    },
    end() {
      if (size) throw new WireError("truncated");
    },
  };
};

// ---- text form ----

function base64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

// Strict RFC 4648 §4 base64 (standard alphabet, padding required, padding bits zero):
// exactly the strings that btoa gives back from what atob makes of them.
function unbase64(s: string): Uint8Array {
  let bin: string | undefined;
  try {
    bin = atob(s);
  } catch {
    // reported below
  }
  if (bin == null || btoa(bin) != s) throw malformed();
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

const jsonEscapes: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

// A JSON string escaping exactly '"', '\\' and U+0000–U+001F, like the Go encoder.
function jsonString(s: string): string {
  return (
    '"' +
    s.replace(
      /["\\\x00-\x1f]/g,
      (c) => jsonEscapes[c] ?? "\\u00" + (c.charCodeAt(0) < 16 ? "0" : "") + c.charCodeAt(0).toString(16),
    ) +
    '"'
  );
}

// Reports whether s has an unpaired UTF-16 surrogate, which UTF-8 cannot encode.
const unpaired = (s: string): boolean => /[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""));

// The longest run of valid pieces of a JSON string body: plain characters, raw surrogate
// pairs, simple escapes and \u escapes (pairing of escaped surrogates not checked).
const JSON_PIECES = /(?:[^"\\\x00-\x1f\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff]|\\["\\/bfnrt]|\\u[\da-fA-F]{4})*/y;

// Parses exactly one JSON string (RFC 8259), with no whitespace around it.
// The first bad piece decides the error, as in Go's left-to-right parser: an unpaired
// surrogate, raw or escaped, is invalid UTF-8; anything else is malformed. (The valid
// run before the first bad piece is decoded: an unpaired surrogate in it, or a raw one
// right after it, came first.)
function parseJSONString(src: string): string {
  const n = src.length - 1;
  if (n < 1 || src[0] != '"' || src[n] != '"') throw malformed();
  JSON_PIECES.lastIndex = 1;
  JSON_PIECES.test(src);
  const i = JSON_PIECES.lastIndex;
  const s = JSON.parse(src.slice(0, i) + '"') as string;
  if (unpaired(s) || /^[\ud800-\udfff]/.test(src.slice(i))) throw badUTF8();
  if (i != n) throw malformed();
  return s;
}

// Parses a protocol decimal: ASCII digits, no sign, no leading zeros, at most MAX_SAFE.
function parseCount(s: string): number {
  const v = Number(s);
  if (!/^(0|[1-9]\d{0,15})$/.test(s) || v >= 2 ** 53) throw malformed();
  return v;
}

// Splits "<count>:<rest>" at the first ':'.
function splitCount(s: string): [number, string] {
  const i = s.indexOf(":");
  if (i < 0) throw malformed();
  return [parseCount(s.slice(0, i)), s.slice(i + 1)];
}


/**
 * Encodes one frame in the text form: one line, without its LF. A PAD frame becomes a
 * line of data.length spaces (at least one).
 */
export function encodeLine(f: OutFrame): string {
  switch (f.type) {
    case PAD:
      return " ".repeat(Math.max(toBytes(f.data).length, 1));
    case OPEN:
      return "o" + toText(f.data);
    case TEXT:
      return "t" + f.seq + ":" + jsonString(toText(f.data));
    case BINARY:
      return "b" + f.seq + ":" + base64(toBytes(f.data));
    case ACK:
      return "a" + f.seq;
    case PING:
    case PONG:
      return (f.type == PING ? "p" : "q") + base64(toBytes(f.data));
    case CLOSE:
      return f.code ? "c" + f.code + ":" + jsonString(toText(f.data)) : "c";
  }
  return "";
}

/** Encodes frames as a text-form body: one line per frame, each ending with LF. */
export const encodeTextBody = (frames: readonly OutFrame[]): string => frames.map((f) => encodeLine(f) + "\n").join("");

/**
 * Decodes one text-form line (without its LF). Throws a WireError "malformed" or "utf8".
 * A PAD frame's data is the line's UTF-8 bytes.
 */
export function decodeLine(line: string): Frame {
  if (/[\r\n]/.test(line)) throw malformed();
  if (!line || line[0] == " ") return frame(PAD, utf8Bytes(line));
  const rest = line.slice(1);
  switch (line[0]) {
    case "o":
      if (unpaired(rest)) throw badUTF8();
      return frame(OPEN, rest);
    case "t":
    case "b": {
      const [seq, payload] = splitCount(rest);
      if (!seq) throw malformed();
      return line[0] == "t"
        ? frame(TEXT, parseJSONString(payload), seq)
        : frame(BINARY, unbase64(payload), seq);
    }
    case "a":
      return frame(ACK, EMPTY, parseCount(rest));
    case "p":
    case "q": {
      const data = unbase64(rest);
      if (data.length > MAX_CONTROL_PAYLOAD) throw malformed();
      return frame(line[0] == "p" ? PING : PONG, data);
    }
    case "c": {
      if (!rest) return frame(CLOSE, "");
      const [code, json] = splitCount(rest);
      if (code > 0xffff) throw malformed();
      const reason = parseJSONString(json);
      if (!validCloseCode(code)) throw malformed();
      if (utf8Bytes(reason).length > MAX_REASON_BYTES) throw malformed();
      return frame(CLOSE, reason, 0, code);
    }
  }
  throw malformed();
}

/**
 * Decodes a text-form body (lines separated by LF, an optional final LF), calling fn for
 * each frame in order. Errors as decodeLine; an error thrown by fn propagates as is.
 */
export function decodeTextBody(body: string, fn: (f: Frame) => void): void {
  for (let at = 0; at < body.length; ) {
    let lf = body.indexOf("\n", at);
    if (lf < 0) lf = body.length;
    fn(decodeLine(body.slice(at, lf)));
    at = lf + 1;
  }
}

// ---- OPEN ----

/** The body of an OPEN frame (PROTOCOL.md section 5). Durations are milliseconds. */
export interface Open {
  /** Protocol version, always 1. */
  v: number;
  /** Session id (non-empty). */
  sid: string;
  /** Session token (non-empty). */
  token: string;
  /** The carrier's transport name. */
  transport: string;
  /** The chosen subprotocol, "" when none. */
  protocol: string;
  /** Whether this carrier continues an existing session. */
  resumed: boolean;
  /** Client→server messages the server has accepted so far. */
  ack: number;
  /** Server heartbeat interval. */
  ping: number;
  /** The server drops a carrier it has not heard from for this long. */
  timeout: number;
  /** How long the server keeps a session that has no carrier. */
  resume: number;
  /** Largest message payload the server accepts, bytes. */
  maxMessage: number;
  /** Largest batch the server accepts, bytes. */
  maxBody: number;
}

const openDefaults: Open = {
  v: 0,
  sid: "",
  token: "",
  transport: "",
  protocol: "",
  resumed: false,
  ack: 0,
  ping: 0,
  timeout: 0,
  resume: 0,
  maxMessage: 0,
  maxBody: 0,
};

/**
 * Parses an OPEN body, as Go's wire.DecodeOpen does: a JSON object whose known members
 * have the right types (a missing or null member keeps its zero value; numbers are
 * integers, ack ≥ 0 and all ≤ MAX_SAFE in magnitude), v equal to 1, sid and token
 * non-empty. Unknown members are ignored. Throws a WireError "malformed".
 *
 * Unlike Go's encoding/json it matches member names exactly (Go also accepts "SID"),
 * cannot tell 1.0 or 1e0 from 1 (Go rejects them for integer members) and rejects
 * numbers above MAX_SAFE (Go accepts any int64/uint64). A conforming server writes
 * none of these.
 */
export function parseOpen(json: string): Open {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw malformed();
  }
  if (typeof raw != "object" || !raw || Array.isArray(raw)) throw malformed();
  const o: Open = { ...openDefaults };
  const src = raw as Record<string, unknown>;
  for (const k of Object.keys(openDefaults) as (keyof Open)[]) {
    const v = src[k];
    if (v == null || v == undefined) continue;
    const want = typeof openDefaults[k];
    if (typeof v != want || (want == "number" && !Number.isSafeInteger(v)) || (k == "ack" && (v as number) < 0)) {
      throw malformed();
    }
    (o as unknown as Record<string, unknown>)[k] = v;
  }
  if (o.v != VERSION || !o.sid || !o.token) throw malformed();
  return o;
}
