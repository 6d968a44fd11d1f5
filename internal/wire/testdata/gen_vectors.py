#!/usr/bin/env python3
# Produced the first version of vectors.json (python3 gen_vectors.py vectors.json).
# vectors.json is the source of truth: it is shared with js/src/wire.ts. This script is
# kept to show how the vectors were derived independently of the Go codec.
# Independent generator for internal/wire/testdata/vectors.json.
# Binary headers are written by hand below and each one is re-checked against an
# independent LEB128 implementation (leb) written from PROTOCOL.md 4.1; base64 and
# JSON come from Python's standard library, not from the Go codec.
import base64, json, sys

MAXSAFE = 2**53 - 1

def leb(v):
    assert 0 <= v <= MAXSAFE
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

def H(s):  # hex literal with spaces allowed
    return bytes.fromhex(s.replace(" ", ""))

# ---- frames (vector JSON shape) ----
def pad(b): return {"type": "pad", "hex": b.hex()}
def open_(body): return {"type": "open", "data": body}
def text(seq, s): return {"type": "text", "seq": seq, "data": s}
def binf(seq, b): return {"type": "binary", "seq": seq, "hex": b.hex()}
def ack(n): return {"type": "ack", "seq": n}
def ping(b): return {"type": "ping", "hex": b.hex()}
def pong(b): return {"type": "pong", "hex": b.hex()}
def close(code=None, reason=""):
    if code is None: return {"type": "close"}
    return {"type": "close", "code": code, "data": reason}

TYPES = {"pad": 0, "open": 1, "text": 2, "binary": 3, "ack": 4, "ping": 5, "pong": 6, "close": 7}

def indep_encode(f):
    """Independent encoder from PROTOCOL.md 4.1, used only to double-check hand-written hex."""
    t = f["type"]
    if t in ("text", "binary"):
        payload = f["data"].encode() if t == "text" else bytes.fromhex(f["hex"])
        body = leb(f["seq"]) + payload
    elif t == "ack":
        body = leb(f["seq"])
    elif t == "close":
        body = b"" if not f.get("code") else f["code"].to_bytes(2, "big") + f["data"].encode()
    elif t == "open":
        body = f["data"].encode()
    else:
        body = bytes.fromhex(f["hex"])
    return bytes([TYPES[t]]) + leb(len(body)) + body

def jstr(s):
    """Independent JSON string encoder per PROTOCOL.md 4.2: escape '"', '\\', U+0000-U+001F only."""
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"': out.append('\\"')
        elif ch == '\\': out.append('\\\\')
        elif ch == '\n': out.append('\\n')
        elif ch == '\r': out.append('\\r')
        elif ch == '\t': out.append('\\t')
        elif c < 0x20: out.append('\\u%04x' % c)
        else: out.append(ch)
    out.append('"')
    return "".join(out)

def b64(b): return base64.b64encode(b).decode()

def indep_text(f):
    t = f["type"]
    if t == "pad": return " " * max(len(bytes.fromhex(f["hex"])), 1)
    if t == "open": return "o" + f["data"]
    if t == "text": return "t%d:%s" % (f["seq"], jstr(f["data"]))
    if t == "binary": return "b%d:%s" % (f["seq"], b64(bytes.fromhex(f["hex"])))
    if t == "ack": return "a%d" % f["seq"]
    if t == "ping": return "p" + b64(bytes.fromhex(f["hex"]))
    if t == "pong": return "q" + b64(bytes.fromhex(f["hex"]))
    if t == "close":
        if not f.get("code"): return "c"
        return "c%d:%s" % (f["code"], jstr(f["data"]))

OPEN_BODY = ('{"v":1,"sid":"n1-Zx8_q4TbKp2","token":"q8vJ0nX2mR7tY4pL1cF6hA","transport":"websocket",'
             '"protocol":"chat.v2","resumed":false,"ack":0,"ping":25000,"timeout":60000,"resume":30000,'
             '"maxMessage":1048576,"maxBody":1114112}')
OPEN_RESUMED = ('{"v":1,"sid":"s","token":"t","transport":"poll","protocol":"","resumed":true,"ack":42,'
                '"ping":25000,"timeout":60000,"resume":30000,"maxMessage":1048576,"maxBody":1114112,"future":{"x":[1,2]}}')
UNI = "\u00e9\u20ac\U0001d11e\U0001f600\u2028"       # 2,3,4,4,3 bytes = 16
CTRL = "a\nb\"c\\d\x01\x1f\x7f"                       # 10 bytes
C0 = "".join(chr(i) for i in range(32))              # 32 bytes
ALL = bytes(range(256))
R123 = "\u00e9" * 61 + "!"                            # 123 bytes
assert len(R123.encode()) == 123 and len(UNI.encode()) == 16 and len(CTRL.encode()) == 10
P125 = bytes(range(125))

binary = []
def B(name, hexparts, frames):
    raw = b"".join(H(p) if isinstance(p, str) else p for p in hexparts)
    check = b"".join(indep_encode(f) for f in frames)
    assert raw == check, (name, raw.hex(), check.hex())
    binary.append({"name": name, "hex": raw.hex(), "frames": frames})

B("pad empty", ["00 00"], [pad(b"")])
B("pad 3 bytes", ["00 03 00ff20"], [pad(H("00ff20"))])
B("pad 127 bytes (1-byte length 0x7f)", ["00 7f", bytes(127)], [pad(bytes(127))])
B("pad 128 bytes (2-byte length 0x80 0x01)", ["00 8001", bytes(128)], [pad(bytes(128))])
B("pad 2048 bytes (stream prelude size)", ["00 8010", bytes(2048)], [pad(bytes(2048))])
B("open realistic body", ["01", leb(len(OPEN_BODY)), OPEN_BODY.encode()], [open_(OPEN_BODY)])
B("open resumed with unknown member", ["01", leb(len(OPEN_RESUMED)), OPEN_RESUMED.encode()], [open_(OPEN_RESUMED)])
B("text empty payload seq 1", ["02 01 01"], [text(1, "")])
B("text hello seq 1", ["02 06 01 68656c6c6f"], [text(1, "hello")])
B("text unicode 2/3/4-byte, emoji, U+2028", ["02 11 03 c3a9 e282ac f09d849e f09f9880 e280a8"], [text(3, UNI)])
B("text newline quote backslash controls DEL", ["02 0b 04 61 0a 62 22 63 5c 64 01 1f 7f"], [text(4, CTRL)])
B("text all C0 controls", ["02 21 05", bytes(range(32))], [text(5, C0)])
B("text seq 127 (1-byte varint)", ["02 02 7f 78"], [text(127, "x")])
B("text seq 128 (2-byte varint)", ["02 03 8001 78"], [text(128, "x")])
B("text seq 16383 (2-byte varint max)", ["02 02 ff7f"], [text(16383, "")])
B("text seq 16384 (3-byte varint)", ["02 03 808001"], [text(16384, "")])
B("text seq 2^53-1 (8-byte varint)", ["02 08 ffffffffffffff0f"], [text(MAXSAFE, "")])
B("binary empty payload seq 1", ["03 01 01"], [binf(1, b"")])
B("binary 00 01 02 ff seq 8", ["03 05 08 000102ff"], [binf(8, H("000102ff"))])
B("binary all byte values 0x00..0xff (length 257)", ["03 8102 01", ALL], [binf(1, ALL)])
B("binary invalid UTF-8 bytes are fine", ["03 04 02 ff c0 af"], [binf(2, H("ffc0af"))])
B("binary seq 2^53-1", ["03 09 ffffffffffffff0f ab"], [binf(MAXSAFE, H("ab"))])
B("ack 0", ["04 01 00"], [ack(0)])
B("ack 127", ["04 01 7f"], [ack(127)])
B("ack 128", ["04 02 8001"], [ack(128)])
B("ack 16383", ["04 02 ff7f"], [ack(16383)])
B("ack 16384", ["04 03 808001"], [ack(16384)])
B("ack 2^53-1", ["04 08 ffffffffffffff0f"], [ack(MAXSAFE)])
B("ping empty", ["05 00"], [ping(b"")])
B("ping 3 bytes", ["05 03 010203"], [ping(H("010203"))])
B("ping 125 bytes (max)", ["05 7d", P125], [ping(P125)])
B("pong empty", ["06 00"], [pong(b"")])
B("pong abc", ["06 03 616263"], [pong(b"abc")])
B("pong 125 bytes (max)", ["06 7d", P125], [pong(P125)])
B("close no code", ["07 00"], [close()])
B("close 1000 empty reason", ["07 02 03e8"], [close(1000, "")])
B("close 1000 bye", ["07 05 03e8 627965"], [close(1000, "bye")])
B("close 1003", ["07 02 03eb"], [close(1003, "")])
B("close 1007", ["07 02 03ef"], [close(1007, "")])
B("close 1014", ["07 02 03f6"], [close(1014, "")])
B("close 3000 reason with quote and newline", ["07 0c 0bb8 73617920 22627965 22 0a"], [close(3000, "say \"bye\"\n")])
B("close 4999", ["07 02 1387"], [close(4999, "")])
B("close 4004 reason of 123 bytes (max)", ["07 7d 0fa4", R123.encode()], [close(4004, R123)])
B("batch of six frames", ["04 01 05", "02 03 06 6869", "03 03 07 00ff", "05 00", "06 02 7a7a", "07 02 03e8"],
  [ack(5), text(6, "hi"), binf(7, H("00ff")), ping(b""), pong(b"zz"), close(1000, "")])
B("batch open then text", ["01", leb(len(OPEN_BODY)), OPEN_BODY.encode(), "02 02 01 61", "02 02 02 62"],
  [open_(OPEN_BODY), text(1, "a"), text(2, "b")])
B("batch with pad between frames", ["04 01 01", "00 02 2020", "04 01 02"], [ack(1), pad(b"  "), ack(2)])

textv = []
def T(name, line, frame):
    assert indep_text(frame) == line, (name, indep_text(frame), line)
    textv.append({"name": name, "line": line, "frame": frame})

T("pad one space", " ", pad(b" "))
T("pad three spaces", "   ", pad(b"   "))
T("open realistic body", "o" + OPEN_BODY, open_(OPEN_BODY))
T("open resumed with unknown member", "o" + OPEN_RESUMED, open_(OPEN_RESUMED))
T("text empty payload", 't1:""', text(1, ""))
T("text hello", 't1:"hello"', text(1, "hello"))
T("text spec example", 't7:"hello\\nworld"', text(7, "hello\nworld"))
T("text unicode raw, U+2028 raw", 't3:"' + UNI + '"', text(3, UNI))
T("text newline quote backslash controls DEL", 't4:"a\\nb\\"c\\\\d\\u0001\\u001f\x7f"', text(4, CTRL))
T("text all C0 controls", 't5:"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\u0008\\t\\n\\u000b\\u000c\\r'
  '\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"',
  text(5, C0))
T("text slash is not escaped", 't6:"a/b"', text(6, "a/b"))
T("text seq 127", 't127:"x"', text(127, "x"))
T("text seq 128", 't128:"x"', text(128, "x"))
T("text seq 16384", 't16384:""', text(16384, ""))
T("text seq 2^53-1", 't9007199254740991:""', text(MAXSAFE, ""))
T("binary empty payload", "b1:", binf(1, b""))
T("binary spec example", "b8:AAEC/w==", binf(8, H("000102ff")))
T("binary one byte (two pad chars)", "b2:qw==", binf(2, H("ab")))
T("binary two bytes (one pad char)", "b3:AP8=", binf(3, H("00ff")))
T("binary three bytes (no padding)", "b4:+/7/", binf(4, H("fbfeff")))
T("binary all byte values", "b1:" + b64(ALL), binf(1, ALL))
T("binary seq 2^53-1", "b9007199254740991:qw==", binf(MAXSAFE, H("ab")))
T("ack 0", "a0", ack(0))
T("ack 12", "a12", ack(12))
T("ack 2^53-1", "a9007199254740991", ack(MAXSAFE))
T("ping empty", "p", ping(b""))
T("ping 3 bytes", "pAQID", ping(H("010203")))
T("ping 125 bytes", "p" + b64(P125), ping(P125))
T("pong empty", "q", pong(b""))
T("pong abc", "qYWJj", pong(b"abc"))
T("close no code", "c", close())
T("close 1000 empty reason", 'c1000:""', close(1000, ""))
T("close 1000 bye", 'c1000:"bye"', close(1000, "bye"))
T("close 3000 reason with quote and newline", 'c3000:"say \\"bye\\"\\n"', close(3000, "say \"bye\"\n"))
T("close 4004 reason of 123 bytes", 'c4004:"' + R123 + '"', close(4004, R123))
T("close 4999", 'c4999:""', close(4999, ""))

decodeOnly = []
def D(name, line, frame):
    assert indep_text(frame) != line, name
    decodeOnly.append({"name": name, "line": line, "frame": frame})

D("pad empty line (encoder writes one space)", "", pad(b""))
D("pad line with non-space filler after the space", " x:y", pad(b" x:y"))
D("text \\u00e9 escape", 't1:"\\u00e9"', text(1, "\u00e9"))
D("text uppercase hex escape \\u00E9", 't1:"\\u00E9"', text(1, "\u00e9"))
D("text escaped ASCII \\u0041", 't1:"\\u0041"', text(1, "A"))
D("text escaped slash \\/", 't1:"a\\/b"', text(1, "a/b"))
D("text \\b and \\f escapes", 't1:"\\b\\f"', text(1, "\x08\x0c"))
D("text surrogate pair escape for U+1F600", 't1:"\\ud83d\\ude00"', text(1, "\U0001f600"))
D("text uppercase surrogate pair escape", 't1:"\\uD834\\uDD1E"', text(1, "\U0001d11e"))
D("text escaped U+2028", 't1:"\\u2028"', text(1, "\u2028"))
D("text escaped DEL", 't1:"\\u007f"', text(1, "\x7f"))
D("close reason with escapes", 'c1000:"\\u00e9\\/"', close(1000, "\u00e9/"))

invB = []
def IB(name, hexparts, err):
    raw = b"".join(H(p) if isinstance(p, str) else p for p in hexparts)
    invB.append({"name": name, "hex": raw.hex(), "error": err})

IB("unknown type 0x08", ["08 00"], "malformed")
IB("unknown type 0xff", ["ff 00"], "malformed")
IB("non-minimal length varint 0x80 0x00", ["00 8000"], "malformed")
IB("non-minimal seq varint 0x81 0x00", ["02 03 8100 61"], "malformed")
IB("non-minimal ack varint 0xff 0x00", ["04 02 ff00"], "malformed")
IB("9-byte length varint", ["00 808080808080808001"], "malformed")
IB("9-byte length varint, 8 continuation bytes then end", ["00 8080808080808080"], "malformed")
IB("length varint 2^53 (> 2^53-1)", ["00 8080808080808010"], "malformed")
IB("length varint 2^56-1 (8 bytes, > 2^53-1)", ["00 ffffffffffffff7f"], "malformed")
IB("ack 2^53 (> 2^53-1)", ["04 08 8080808080808010"], "malformed")
IB("text seq 0", ["02 02 00 61"], "malformed")
IB("binary seq 0", ["03 01 00"], "malformed")
IB("text empty body (no seq)", ["02 00"], "malformed")
IB("binary body ends inside seq varint", ["03 01 80"], "malformed")
IB("ack empty body", ["04 00"], "malformed")
IB("ack with trailing byte", ["04 02 01 00"], "malformed")
IB("ack body ends inside count varint", ["04 01 80"], "malformed")
IB("ack length 9 (header only)", ["04 09"], "malformed")
IB("ping 126 bytes", ["05 7e", bytes(126)], "malformed")
IB("ping length 126 (header only, never valid)", ["05 7e"], "malformed")
IB("pong 126 bytes", ["06 7e", bytes(126)], "malformed")
IB("close body of 1 byte", ["07 01 03"], "malformed")
IB("close code 0", ["07 02 0000"], "malformed")
IB("close code 999", ["07 02 03e7"], "malformed")
IB("close code 1004", ["07 02 03ec"], "malformed")
IB("close code 1005 (never sent)", ["07 02 03ed"], "malformed")
IB("close code 1006 (never sent)", ["07 02 03ee"], "malformed")
IB("close code 1015", ["07 02 03f7"], "malformed")
IB("close code 2999", ["07 02 0bb7"], "malformed")
IB("close code 5000", ["07 02 1388"], "malformed")
IB("close code 65535", ["07 02 ffff"], "malformed")
IB("close reason of 124 bytes", ["07 7e 03e8", b"a" * 124], "malformed")
IB("text payload invalid UTF-8 0xff", ["02 02 01 ff"], "utf8")
IB("text payload UTF-8-encoded surrogate ed a0 80", ["02 04 01 eda080"], "utf8")
IB("text payload overlong c0 af", ["02 03 01 c0af"], "utf8")
IB("text payload ends inside a UTF-8 sequence", ["02 03 01 e282"], "utf8")
IB("text payload code point above U+10FFFF", ["02 05 01 f4908080"], "utf8")
IB("close reason invalid UTF-8", ["07 03 03e8 ff"], "utf8")
IB("open body invalid UTF-8", ["01 03 7b ff 7d"], "utf8")
IB("batch ends inside its second frame (DecodeBatch: malformed)", ["04 01 01", "02 05 01 6865"], "malformed")
IB("batch ends inside second frame's length varint (DecodeBatch: malformed)", ["04 01 01", "00 80"], "malformed")
IB("batch with a bad frame after a good one", ["04 01 01", "08 00"], "malformed")
IB("type byte only (DecodeBinary: truncated)", ["02"], "truncated")
IB("length varint truncated", ["03 80"], "truncated")
IB("length varint of 7 continuation bytes", ["00 ffffffffffffff"], "truncated")
IB("text body truncated", ["02 06 01 6865"], "truncated")
IB("body truncated inside seq varint", ["03 03 80"], "truncated")
IB("ping body truncated", ["05 7d 0001"], "truncated")
IB("close body truncated after code", ["07 05 03e8"], "truncated")
IB("close body truncated inside code", ["07 02 03"], "truncated")
IB("pad header only", ["00 01"], "truncated")

invT = []
def IT(name, line, err):
    invT.append({"name": name, "line": line, "error": err})

IT("unknown letter x", "x", "malformed")
IT("unknown letter uppercase T", 'T1:"a"', "malformed")
IT("unknown letter tab", '\t', "malformed")
IT("text seq with leading zero t01", 't01:"a"', "malformed")
IT("text seq with plus sign", 't+1:"a"', "malformed")
IT("text seq negative", 't-1:"a"', "malformed")
IT("text seq 0", 't0:"a"', "malformed")
IT("text seq empty", 't:"a"', "malformed")
IT("text seq 2^53 (> 2^53-1)", 't9007199254740992:"a"', "malformed")
IT("text seq of 17 digits", 't10000000000000000:"a"', "malformed")
IT("text missing ':'", 't1"a"', "malformed")
IT("text payload not a JSON string", "t1:a", "malformed")
IT("text payload empty", "t1:", "malformed")
IT("text payload unterminated", 't1:"a', "malformed")
IT("text payload single quote char", 't1:"', "malformed")
IT("text payload ends in an escape", 't1:"a\\"', "malformed")
IT("text whitespace before JSON string", 't1: "a"', "malformed")
IT("text whitespace after JSON string", 't1:"a" ', "malformed")
IT("text trailing garbage after JSON string", 't1:"a"x', "malformed")
IT("text second JSON string after the first", 't1:"a""b"', "malformed")
IT("text unescaped quote inside", 't1:"a"b"', "malformed")
IT("text raw control char 0x01 in JSON string", 't1:"a\x01b"', "malformed")
IT("text raw tab in JSON string", 't1:"a\tb"', "malformed")
IT("text raw DEL is fine but raw 0x1f is not", 't1:"\x7f\x1f"', "malformed")
IT("text bad escape \\x", 't1:"\\x41"', "malformed")
IT("text bad escape \\U", 't1:"\\U0041"', "malformed")
IT("text short \\u escape", 't1:"\\u41"', "malformed")
IT("text \\u escape with non-hex digit", 't1:"\\u00g9"', "malformed")
IT("text CR inside a line", 't1:"a\rb"', "malformed")
IT("text line ending in CR (CRLF)", 't1:"a"\r', "malformed")
IT("LF inside a line", "a1\na2", "malformed")
IT("text lone high surrogate escape", 't1:"\\ud800"', "utf8")
IT("text lone low surrogate escape", 't1:"\\udc00"', "utf8")
IT("text reversed surrogate pair", 't1:"\\udc00\\ud800"', "utf8")
IT("text high surrogate followed by a letter", 't1:"\\ud800x"', "utf8")
IT("text high surrogate followed by a non-surrogate escape", 't1:"\\ud800\\u0041"', "utf8")
IT("text two high surrogates", 't1:"\\ud800\\ud800"', "utf8")
IT("binary missing ':'", "b1AAEC", "malformed")
IT("binary seq 0", "b0:", "malformed")
IT("binary base64 non-canonical padding bits AB==", "b1:AB==", "malformed")
IT("binary base64 non-canonical padding bits AAB=", "b1:AAB=", "malformed")
IT("binary base64 without padding", "b1:AA", "malformed")
IT("binary base64 with padding inside", "b1:AA==AA==", "malformed")
IT("binary base64 too much padding", "b1:A===", "malformed")
IT("binary base64 url alphabet", "b1:-_8=", "malformed")
IT("binary base64 with space", "b1:AA AA", "malformed")
IT("binary base64 trailing garbage", "b1:AAAA!", "malformed")
IT("ack empty", "a", "malformed")
IT("ack leading zero", "a01", "malformed")
IT("ack plus sign", "a+1", "malformed")
IT("ack trailing space", "a1 ", "malformed")
IT("ack 2^53 (> 2^53-1)", "a9007199254740992", "malformed")
IT("ack hex", "a0x10", "malformed")
IT("ping bad base64", "p!!!!", "malformed")
IT("ping non-canonical base64", "pAB==", "malformed")
IT("ping 126 bytes", "p" + b64(bytes(126)), "malformed")
IT("pong 126 bytes", "q" + b64(bytes(126)), "malformed")
IT("close missing ':'", "c1000", "malformed")
IT("close empty code", 'c:""', "malformed")
IT("close code with leading zero", 'c01000:""', "malformed")
IT("close code 0", 'c0:""', "malformed")
IT("close code 999", 'c999:""', "malformed")
IT("close code 1004", 'c1004:""', "malformed")
IT("close code 1005", 'c1005:""', "malformed")
IT("close code 1006", 'c1006:""', "malformed")
IT("close code 1015", 'c1015:""', "malformed")
IT("close code 2999", 'c2999:""', "malformed")
IT("close code 5000", 'c5000:""', "malformed")
IT("close code 70000", 'c70000:""', "malformed")
IT("close code 66536 (wraps to 1000 in 16 bits)", 'c66536:""', "malformed")
IT("close reason not a JSON string", "c1000:bye", "malformed")
IT("close reason missing", "c1000:", "malformed")
IT("close reason of 124 bytes", 'c1000:"' + "a" * 124 + '"', "malformed")
IT("close reason of 124 bytes by escapes", 'c1000:"' + "\\u00e9" * 62 + '"', "malformed")
IT("close reason lone surrogate escape", 'c1000:"\\udc00"', "utf8")

doc = {"version": 1, "binary": binary, "text": textv, "textDecodeOnly": decodeOnly,
       "invalidBinary": invB, "invalidText": invT}
def dump(v): return json.dumps(v, ensure_ascii=True, separators=(",", ":"))
parts = ['{\n "version": 1']
for key in ("binary", "text", "textDecodeOnly", "invalidBinary", "invalidText"):
    parts.append(',\n "%s": [\n' % key + ",\n".join("  " + dump(e) for e in doc[key]) + "\n ]")
s = "".join(parts) + "\n}\n"
assert json.loads(s) == doc
open(sys.argv[1], "w").write(s)
print(len(binary), len(textv), len(decodeOnly), len(invB), len(invT))
