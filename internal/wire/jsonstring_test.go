package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// randomUTF8 returns a valid UTF-8 string mixing 1- to 4-byte sequences, with the
// characters JSON treats specially (controls, '"', '\\') and U+2028/U+2029 often.
func randomUTF8(r *rand.Rand) string {
	special := []rune{0, '\n', '\r', '\t', '\b', '\f', 0x1f, 0x7f, '"', '\\', '/', 0x2028, 0x2029, 0xfeff, 0xfffd, 0xd7ff, 0xe000, 0x10ffff}
	var sb strings.Builder
	for n := r.IntN(40); n > 0; n-- {
		var c rune
		switch r.IntN(6) {
		case 0:
			c = special[r.IntN(len(special))]
		case 1:
			c = rune(r.IntN(0x80))
		case 2:
			c = 0x80 + rune(r.IntN(0x800-0x80))
		case 3:
			c = 0x800 + rune(r.IntN(0x10000-0x800-0x800)) // skip the 0x800 surrogates
			if c >= 0xd800 {
				c += 0x800
			}
		case 4:
			c = 0x10000 + rune(r.IntN(0x110000-0x10000))
		default:
			c = ' ' + rune(r.IntN(0x7f-' '))
		}
		sb.WriteRune(c)
	}
	return sb.String()
}

// escapeAll writes s as a JSON string with every character as a \u escape, astral ones as
// surrogate pairs, hex digits in random case.
func escapeAll(r *rand.Rand, s string) []byte {
	out := []byte{'"'}
	put := func(u rune) {
		h := fmt.Sprintf("%04x", u)
		if r.IntN(2) == 0 {
			h = strings.ToUpper(h)
		}
		out = append(out, `\u`+h...)
	}
	for _, c := range s {
		if c >= 0x10000 {
			hi, lo := utf16.EncodeRune(c)
			put(hi)
			put(lo)
		} else {
			put(c)
		}
	}
	return append(out, '"')
}

// wantEscapedLen is the length of s as AppendJSONString writes it: the minimal escaping of
// PROTOCOL.md 4.2, with the short forms \n, \r, \t and \" \\.
func wantEscapedLen(s string) int {
	n := 2
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			n += 2
		case c < 0x20:
			n += 6
		default:
			n++
		}
	}
	return n
}

func TestJSONStringRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		s := randomUTF8(r)
		if !utf8.ValidString(s) {
			t.Fatalf("generator made invalid UTF-8 %q", s)
		}
		enc := AppendJSONString([]byte("pre"), []byte(s))
		if string(enc[:3]) != "pre" {
			t.Fatalf("AppendJSONString overwrote the prefix: %q", enc)
		}
		enc = enc[3:]
		if len(enc) != wantEscapedLen(s) {
			t.Errorf("AppendJSONString(%q) = %s: %d bytes, want %d (minimal escaping)", s, enc, len(enc), wantEscapedLen(s))
		}
		if bytes.ContainsFunc(enc, func(c rune) bool { return c < 0x20 || c == '\n' }) {
			t.Errorf("AppendJSONString(%q) = %q holds a raw control character", s, enc)
		}
		got, err := ParseJSONString(enc)
		if err != nil || string(got) != s {
			t.Fatalf("ParseJSONString(%s) = %q, %v; want %q", enc, got, err, s)
		}
		// encoding/json, an independent decoder, reads the same string.
		var viaStd string
		if err := json.Unmarshal(enc, &viaStd); err != nil || viaStd != s {
			t.Fatalf("json.Unmarshal(%s) = %q, %v; want %q", enc, viaStd, err, s)
		}
		// Other valid spellings decode to the same string.
		std, _ := json.Marshal(s) // escapes <, >, &, U+2028 and U+2029 as \u
		for _, alt := range [][]byte{std, escapeAll(r, s)} {
			if got, err := ParseJSONString(alt); err != nil || string(got) != s {
				t.Fatalf("ParseJSONString(%s) = %q, %v; want %q", alt, got, err, s)
			}
		}
	}
}

func TestParseJSONString(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{`""`, ""},
		{`"a"`, "a"},
		{`"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t"},
		{`"\u0000"`, "\x00"},
		{`"\uFFFF"`, "\uffff"},
		{`"\ud7ff\ue000"`, "\ud7ff\ue000"},
		{`"\udbff\udfff"`, "\U0010ffff"},
		{`"\ud800\udc00"`, "\U00010000"},
		{"\"\x7f\"", "\x7f"},
		{"\"\u2028\u2029\"", "\u2028\u2029"},
		{"\"\xef\xbb\xbf\"", "\ufeff"},
	} {
		got, err := ParseJSONString([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("ParseJSONString(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want error
	}{
		{``, ErrMalformed},
		{`"`, ErrMalformed},
		{`'a'`, ErrMalformed},
		{`a`, ErrMalformed},
		{` "a"`, ErrMalformed},
		{`"a" `, ErrMalformed},
		{`"a"b"`, ErrMalformed},
		{`"\"`, ErrMalformed},
		{`"\a"`, ErrMalformed},
		{`"\'"`, ErrMalformed},
		{`"\u"`, ErrMalformed},
		{`"\u123"`, ErrMalformed},
		{`"\u-123"`, ErrMalformed},
		{`"\u+123"`, ErrMalformed},
		{`"\u 123"`, ErrMalformed},
		{"\"\x00\"", ErrMalformed},
		{"\"\t\"", ErrMalformed},
		{"\"\n\"", ErrMalformed},
		{`"\ud800"`, ErrInvalidUTF8},
		{`"\udbff"`, ErrInvalidUTF8},
		{`"\udc00"`, ErrInvalidUTF8},
		{`"\udfff"`, ErrInvalidUTF8},
		{`"\ud800\ud800"`, ErrInvalidUTF8},
		{`"\ud800\u0041"`, ErrInvalidUTF8},
		{`"\ud800a"`, ErrInvalidUTF8},
		{`"\ud800\n"`, ErrInvalidUTF8},
		{`"\udc00\ud800"`, ErrInvalidUTF8},
		{"\"\xff\"", ErrInvalidUTF8},
		{"\"\xed\xa0\x80\"", ErrInvalidUTF8},
		{"\"\xe2\x82\"", ErrInvalidUTF8},
	} {
		got, err := ParseJSONString([]byte(tc.in))
		if !errors.Is(err, tc.want) {
			t.Errorf("ParseJSONString(%q) = %q, %v; want %v", tc.in, got, err, tc.want)
		}
		if tc.want == ErrInvalidUTF8 && errors.Is(err, ErrMalformed) {
			t.Errorf("ParseJSONString(%q): %v is both classes", tc.in, err)
		}
	}
}
