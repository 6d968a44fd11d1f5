package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"9", 9, true},
		{"10", 10, true},
		{"1000", 1000, true},
		{"4294967296", 1 << 32, true},
		{"9007199254740990", MaxSafe - 1, true},
		{"9007199254740991", MaxSafe, true},
		{"9007199254740992", 0, false},
		{"9999999999999999", 0, false},
		{"10000000000000000", 0, false},    // 17 digits
		{"18446744073709551616", 0, false}, // overflows uint64
		{"99999999999999999999", 0, false}, // overflows uint64
		{"", 0, false},
		{"00", 0, false},
		{"01", 0, false},
		{"007", 0, false},
		{"+1", 0, false},
		{"-1", 0, false},
		{"-0", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1.0", 0, false},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"１", 0, false}, // fullwidth digit one
		{"1_000", 0, false},
	} {
		got, err := ParseCount(tc.in)
		gotB, errB := ParseCount([]byte(tc.in))
		if got != gotB || (err == nil) != (errB == nil) {
			t.Errorf("ParseCount(%q): string gives %d, %v; []byte gives %d, %v", tc.in, got, err, gotB, errB)
		}
		if tc.ok {
			if err != nil || got != tc.want {
				t.Errorf("ParseCount(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		} else if !errors.Is(err, ErrMalformed) || got != 0 {
			t.Errorf("ParseCount(%q) = %d, %v; want ErrMalformed", tc.in, got, err)
		}
	}
}

func TestDecodeTextBatch(t *testing.T) {
	for _, tc := range []struct {
		body  string
		types string // one letter per frame, '_' for PAD
	}{
		{"", ""},
		{"a1", "a"},
		{"a1\n", "a"},
		{"a1\na2", "aa"},
		{"a1\na2\n", "aa"},
		{"\n", "_"},
		{"a1\n\na2\n", "a_a"},
		{"a1\n\n", "a_"},
		{strings.Repeat(" ", 2048) + "\no{}\nt1:\"x\"\n", "_ot"},
		{"p\nq\nc\n", "pqc"},
	} {
		var got strings.Builder
		err := DecodeTextBatch([]byte(tc.body), func(f *Frame) error {
			if f.Type == TypePad {
				got.WriteByte('_')
			} else {
				got.WriteByte(textLetters[f.Type])
			}
			return nil
		})
		if err != nil || got.String() != tc.types {
			t.Errorf("DecodeTextBatch(%q) = %q, %v; want %q", tc.body, got.String(), err, tc.types)
		}
	}

	// A CRLF body is malformed (lines contain no CR), and the error stops decoding.
	calls := 0
	err := DecodeTextBatch([]byte("a1\r\na2\r\n"), func(*Frame) error { calls++; return nil })
	if !errors.Is(err, ErrMalformed) || calls != 0 {
		t.Errorf("CRLF body: %v after %d frames, want ErrMalformed after 0", err, calls)
	}

	stop := errors.New("stop")
	calls = 0
	err = DecodeTextBatch([]byte("a1\na2\nx\n"), func(*Frame) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("callback error: %v after %d frames, want it as is after 1", err, calls)
	}
}

// TestDecodeTextRawInvalidUTF8 covers what the shared vectors cannot hold: lines that are
// not valid UTF-8 (a JSON file holds only text). TypeScript decodes JS strings, which the
// browser already made valid UTF-16, so only the Go codec meets these.
func TestDecodeTextRawInvalidUTF8(t *testing.T) {
	for _, line := range []string{
		"t1:\"\xff\"",
		"t1:\"a\xc3\"",            // ends inside a 2-byte sequence
		"t1:\"\xc0\xaf\"",         // overlong '/'
		"t1:\"\xed\xa0\x80\"",     // UTF-8-encoded surrogate
		"t1:\"\xf4\x90\x80\x80\"", // above U+10FFFF
		"c1000:\"\xff\"",
		"o{\"v\":1,\"sid\":\"\xff\"}",
		"o\xfe",
	} {
		if _, err := DecodeText([]byte(line)); !errors.Is(err, ErrInvalidUTF8) {
			t.Errorf("DecodeText(%q) = %v, want ErrInvalidUTF8", line, err)
		}
	}
	// Invalid bytes in a PAD line are filler, and U+FFFD itself is valid.
	for _, line := range []string{" \xff\xfe", "t1:\"\xef\xbf\xbd\""} {
		if _, err := DecodeText([]byte(line)); err != nil {
			t.Errorf("DecodeText(%q) = %v, want success", line, err)
		}
	}
}

// TestDecodeTextDoesNotAlias checks the contract that decoded Data is a copy for every
// type but OPEN and PAD.
func TestDecodeTextDoesNotAlias(t *testing.T) {
	for _, line := range []string{`t1:"abc"`, "b1:YWJj", "pYWJj", "qYWJj", `c1000:"abc"`} {
		buf := []byte(line)
		f, err := DecodeText(buf)
		if err != nil || string(f.Data) != "abc" {
			t.Fatalf("DecodeText(%q) = %s, %v", line, fmtFrame(&f), err)
		}
		for i := range buf {
			buf[i] = '#'
		}
		if string(f.Data) != "abc" {
			t.Errorf("DecodeText(%q): Data changed to %q with the input", line, f.Data)
		}
	}
}

func TestAppendTextPad(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want int
	}{{0, 1}, {1, 1}, {5, 5}, {2048, 2048}} {
		f := Frame{Type: TypePad, Data: make([]byte, tc.n)}
		line := AppendText(nil, &f)
		if len(line) != tc.want || strings.Trim(string(line), " ") != "" {
			t.Errorf("PAD of %d bytes: %q, want %d spaces", tc.n, line, tc.want)
		}
	}
}
