package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"testing"
	"unicode/utf8"
)

// Every decoder has a fuzz target, seeded from the golden vectors. Run one with
//
//	go test -run='^$' -fuzz=FuzzDecodeBinary -fuzztime=20s ./internal/wire
//
// Plain `go test` runs the seeds as ordinary tests.

func seedBinary(f *testing.F) {
	v := loadVectors(f)
	for _, e := range v.Binary {
		f.Add(mustHex(f, e.Name, e.Hex))
	}
	for _, e := range v.InvalidBinary {
		f.Add(mustHex(f, e.Name, e.Hex))
	}
}

func seedText(f *testing.F) {
	v := loadVectors(f)
	for _, e := range v.Text {
		f.Add([]byte(e.Line))
	}
	for _, e := range v.TextDecodeOnly {
		f.Add([]byte(e.Line))
	}
	for _, e := range v.InvalidText {
		f.Add([]byte(e.Line))
	}
}

// checkErrClass fails unless err is nil or wraps exactly one of the decoder error classes.
func checkErrClass(t *testing.T, err error, truncatedOK bool) {
	t.Helper()
	if err == nil {
		return
	}
	n := 0
	for _, class := range []error{ErrTruncated, ErrMalformed, ErrInvalidUTF8} {
		if errors.Is(err, class) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %v wraps %d decoder error classes, want 1", err, n)
	}
	if errors.Is(err, ErrTruncated) && (!truncatedOK || err != ErrTruncated) {
		t.Fatalf("unexpected truncation error %v", err)
	}
}

// checkFrame fails unless f is a frame a conforming peer could send.
func checkFrame(t *testing.T, f *Frame) {
	t.Helper()
	switch f.Type {
	case TypeText, TypeBinary:
		if f.Seq < 1 || f.Seq > MaxSafe {
			t.Fatalf("%s: seq out of range", fmtFrame(f))
		}
		if f.Type == TypeText && !utf8.Valid(f.Data) {
			t.Fatalf("%s: TEXT payload not valid UTF-8", fmtFrame(f))
		}
	case TypeAck:
		if f.Seq > MaxSafe {
			t.Fatalf("%s: count out of range", fmtFrame(f))
		}
	case TypePing, TypePong:
		if len(f.Data) > MaxControlPayload {
			t.Fatalf("%s: control payload too long", fmtFrame(f))
		}
	case TypeClose:
		if f.Code == 0 {
			if len(f.Data) != 0 {
				t.Fatalf("%s: reason without a code", fmtFrame(f))
			}
		} else if !ValidCloseCode(f.Code) || len(f.Data) > MaxReasonBytes || !utf8.Valid(f.Data) {
			t.Fatalf("%s: bad CLOSE", fmtFrame(f))
		}
	case TypeOpen:
		if !utf8.Valid(f.Data) {
			t.Fatalf("%s: OPEN body not valid UTF-8", fmtFrame(f))
		}
	case TypePad:
	default:
		t.Fatalf("%s: unknown type", fmtFrame(f))
	}
	if f.Type != TypeText && f.Type != TypeBinary && f.Type != TypeAck && f.Seq != 0 {
		t.Fatalf("%s: seq on a frame without one", fmtFrame(f))
	}
	if f.Type != TypeClose && f.Code != 0 {
		t.Fatalf("%s: code on a frame without one", fmtFrame(f))
	}
}

// checkTextForm checks that f survives the text form. PAD keeps only its length, and an
// OPEN body holding CR or LF has no text form (its JSON would need to lose that whitespace).
func checkTextForm(t *testing.T, f *Frame) {
	t.Helper()
	if f.Type == TypeOpen && bytes.ContainsAny(f.Data, "\r\n") {
		return
	}
	line := AppendText(nil, f)
	if bytes.ContainsAny(line, "\r\n") {
		t.Fatalf("%s: AppendText wrote CR or LF: %q", fmtFrame(f), line)
	}
	back, err := DecodeText(line)
	if err != nil {
		t.Fatalf("%s: DecodeText(AppendText = %q): %v", fmtFrame(f), line, err)
	}
	if f.Type == TypePad {
		if back.Type != TypePad || len(back.Data) != max(len(f.Data), 1) {
			t.Fatalf("PAD of %d bytes came back as %s", len(f.Data), fmtFrame(&back))
		}
		return
	}
	if !frameEqual(&back, f) {
		t.Fatalf("text form %q decodes to %s, want %s", line, fmtFrame(&back), fmtFrame(f))
	}
	// The encoder's output is its own canonical form.
	if again := AppendText(nil, &back); !bytes.Equal(again, line) {
		t.Fatalf("re-encoding %q gave %q", line, again)
	}
}

func FuzzDecodeBinary(f *testing.F) {
	seedBinary(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		fr, n, err := DecodeBinary(src)
		checkErrClass(t, err, true)
		if err != nil {
			if n != 0 || fr.Type != 0 || fr.Data != nil {
				t.Fatalf("error %v with n=%d frame %s", err, n, fmtFrame(&fr))
			}
			return
		}
		if n < 2 || n > len(src) {
			t.Fatalf("consumed %d of %d bytes", n, len(src))
		}
		checkFrame(t, &fr)
		// The binary form is canonical (minimal varints, no optional parts), so the
		// re-encoding is exactly the bytes consumed.
		if enc := AppendBinary(nil, &fr); !bytes.Equal(enc, src[:n]) {
			t.Fatalf("re-encoded %x, consumed %x", enc, src[:n])
		}
		if BinaryLen(&fr) != n {
			t.Fatalf("BinaryLen = %d, consumed %d", BinaryLen(&fr), n)
		}
		// Every proper prefix is truncated, never malformed: a stream reader waits.
		step := 1
		if n > 300 {
			step = n / 100
		}
		for k := 0; k < n; k += step {
			if _, m, err := DecodeBinary(src[:k]); err != ErrTruncated || m != 0 {
				t.Fatalf("prefix of %d of %d bytes: %d, %v; want ErrTruncated", k, n, m, err)
			}
		}
		checkTextForm(t, &fr)
	})
}

func FuzzDecodeBatch(f *testing.F) {
	seedBinary(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		var frames []Frame
		err := DecodeBatch(src, func(fr *Frame) error {
			frames = append(frames, cloneFrame(fr))
			return nil
		})
		checkErrClass(t, err, false)
		// The frames before any error are those DecodeBinary finds one by one.
		rest := src
		for i := range frames {
			fr, n, derr := DecodeBinary(rest)
			if derr != nil || !frameEqual(&fr, &frames[i]) {
				t.Fatalf("frame %d: DecodeBinary gives %s, %v; DecodeBatch gave %s", i, fmtFrame(&fr), derr, fmtFrame(&frames[i]))
			}
			checkFrame(t, &fr)
			rest = rest[n:]
		}
		if err != nil {
			if _, _, derr := DecodeBinary(rest); derr == nil {
				t.Fatalf("DecodeBatch failed with %v where DecodeBinary succeeds", err)
			}
			return
		}
		var enc []byte
		for i := range frames {
			enc = AppendBinary(enc, &frames[i])
		}
		if !bytes.Equal(enc, src) {
			t.Fatalf("re-encoded batch %x, input %x", enc, src)
		}
	})
}

func FuzzDecodeText(f *testing.F) {
	seedText(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		fr, err := DecodeText(line)
		checkErrClass(t, err, false)
		if bytes.IndexByte(line, '\n') < 0 {
			// A body of one line decodes the same way.
			calls := 0
			berr := DecodeTextBatch(line, func(b *Frame) error {
				calls++
				if !frameEqual(b, &fr) {
					t.Fatalf("DecodeTextBatch gives %s, DecodeText %s", fmtFrame(b), fmtFrame(&fr))
				}
				return nil
			})
			wantCalls := 0
			if err == nil && len(line) > 0 {
				wantCalls = 1
			}
			if (berr == nil) != (err == nil || len(line) == 0) || calls != wantCalls {
				t.Fatalf("DecodeTextBatch: %v after %d frames; DecodeText: %v", berr, calls, err)
			}
		}
		if err != nil {
			return
		}
		checkFrame(t, &fr)
		checkTextForm(t, &fr)
		// Every text frame has a binary form that decodes to it.
		bin := AppendBinary(nil, &fr)
		back, n, err := DecodeBinary(bin)
		if err != nil || n != len(bin) || !frameEqual(&back, &fr) {
			t.Fatalf("binary form %x decodes to %s, %d, %v; want %s", bin, fmtFrame(&back), n, err, fmtFrame(&fr))
		}
	})
}

func FuzzDecodeTextBatch(f *testing.F) {
	v := loadVectors(f)
	var all []byte
	for _, e := range v.Text {
		f.Add([]byte(e.Line + "\n"))
		all = append(append(all, e.Line...), '\n')
	}
	f.Add(all)
	f.Add([]byte("a1\n\na2"))
	f.Add([]byte("a1\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var frames []Frame
		err := DecodeTextBatch(body, func(fr *Frame) error {
			frames = append(frames, cloneFrame(fr))
			return nil
		})
		checkErrClass(t, err, false)
		for i := range frames {
			checkFrame(t, &frames[i])
		}
		if err != nil {
			return
		}
		// Re-encoding the frames as a body gives the same frames (PADs keep only their type).
		var enc []byte
		for i := range frames {
			enc = append(AppendText(enc, &frames[i]), '\n')
		}
		var again []Frame
		if err := DecodeTextBatch(enc, func(fr *Frame) error {
			again = append(again, cloneFrame(fr))
			return nil
		}); err != nil {
			t.Fatalf("re-encoded body %q: %v", enc, err)
		}
		if len(again) != len(frames) {
			t.Fatalf("re-encoded body has %d frames, want %d", len(again), len(frames))
		}
		for i := range frames {
			if frames[i].Type == TypePad {
				if again[i].Type != TypePad {
					t.Fatalf("frame %d: %s, want PAD", i, fmtFrame(&again[i]))
				}
			} else if !frameEqual(&again[i], &frames[i]) {
				t.Fatalf("frame %d: %s, want %s", i, fmtFrame(&again[i]), fmtFrame(&frames[i]))
			}
		}
	})
}

func FuzzParseJSONString(f *testing.F) {
	for _, e := range loadVectors(f).Text {
		if _, js, ok := bytes.Cut([]byte(e.Line), []byte{':'}); ok && (e.Line[0] == 't' || e.Line[0] == 'c') {
			f.Add(js)
		}
	}
	for _, s := range []string{`""`, `"\ud83d\ude00"`, `"\ud800"`, `"\u00e9\/"`, "\"\x01\"", `"a" `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		got, err := ParseJSONString(src)
		checkErrClass(t, err, false)
		if err != nil {
			// encoding/json accepts a superset (it replaces bad UTF-8 and lone surrogates
			// with U+FFFD). Where it accepts exactly-quoted valid UTF-8 that we reject, the
			// reason must be an unpaired surrogate escape, i.e. ErrInvalidUTF8.
			var s string
			if len(src) >= 2 && src[0] == '"' && src[len(src)-1] == '"' && utf8.Valid(src) &&
				json.Unmarshal(src, &s) == nil && !errors.Is(err, ErrInvalidUTF8) {
				t.Fatalf("ParseJSONString(%q) = %v, but encoding/json reads %q", src, err, s)
			}
			return
		}
		if !utf8.Valid(got) {
			t.Fatalf("ParseJSONString(%q) = %q, not valid UTF-8", src, got)
		}
		var s string
		if err := json.Unmarshal(src, &s); err != nil || s != string(got) {
			t.Fatalf("ParseJSONString(%q) = %q; encoding/json gives %q, %v", src, got, s, err)
		}
		enc := AppendJSONString(nil, got)
		back, err := ParseJSONString(enc)
		if err != nil || !bytes.Equal(back, got) {
			t.Fatalf("round trip of %q via %q gave %q, %v", got, enc, back, err)
		}
	})
}

func FuzzDecodeOpen(f *testing.F) {
	v := loadVectors(f)
	for _, e := range v.Text {
		if e.Frame.Type == "open" {
			f.Add([]byte(*e.Frame.Data))
		}
	}
	f.Add([]byte(`{"v":1,"sid":"s","token":"t"}`))
	f.Add([]byte(`{"v":2,"sid":"s","token":"t"}`))
	f.Add([]byte(`{"V":1,"SID":"s","Token":"t"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := DecodeOpen(body)
		checkErrClass(t, err, false)
		if err != nil {
			if o != (Open{}) {
				t.Fatalf("error %v with %+v", err, o)
			}
			return
		}
		if o.Version != Version || o.Session == "" || o.Token == "" {
			t.Fatalf("DecodeOpen(%q) accepted %+v", body, o)
		}
		fr := o.Frame()
		if fr.Type != TypeOpen || !utf8.Valid(fr.Data) || bytes.ContainsAny(fr.Data, "\r\n") {
			t.Fatalf("Frame() = %s", fmtFrame(&fr))
		}
		again, err := DecodeOpen(fr.Data)
		if err != nil || again != o {
			t.Fatalf("round trip of %+v via %s gave %+v, %v", o, fr.Data, again, err)
		}
	})
}

var countSyntax = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

func FuzzParseCount(f *testing.F) {
	for _, s := range []string{"0", "1", "01", "+1", "-1", "", "9007199254740991", "9007199254740992",
		"18446744073709551616", "１", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseCount(s)
		vb, errB := ParseCount([]byte(s))
		if v != vb || (err == nil) != (errB == nil) {
			t.Fatalf("ParseCount(%q): string %d, %v; []byte %d, %v", s, v, err, vb, errB)
		}
		checkErrClass(t, err, false)
		// Independent oracle: the decimal grammar of PROTOCOL.md section 2.
		want, perr := strconv.ParseUint(s, 10, 64)
		ok := countSyntax.MatchString(s) && perr == nil && want <= MaxSafe
		if ok != (err == nil) || (ok && v != want) {
			t.Fatalf("ParseCount(%q) = %d, %v; want ok=%v value %d", s, v, err, ok, want)
		}
		if err == nil && strconv.FormatUint(v, 10) != s {
			t.Fatalf("ParseCount(%q) = %d is not canonical", s, v)
		}
	})
}
