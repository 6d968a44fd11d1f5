package wire

import (
	"unicode/utf16"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string. It escapes '"', '\\' and U+0000–U+001F
// and copies everything else as is. s must be valid UTF-8.
func AppendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// ParseJSONString parses src, which must be exactly one JSON string (RFC 8259) with no
// surrounding whitespace, and returns its UTF-8 value. Raw control characters, invalid
// UTF-8 and escapes that yield unpaired surrogates are rejected.
func ParseJSONString(src []byte) ([]byte, error) {
	if len(src) < 2 || src[0] != '"' || src[len(src)-1] != '"' {
		return nil, malformed("not a JSON string")
	}
	body := src[1 : len(src)-1]
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == '"':
			return nil, malformed("unescaped quote in JSON string")
		case c < 0x20:
			return nil, malformed("control character in JSON string")
		case c == '\\':
			if i+1 >= len(body) {
				return nil, malformed("JSON string ends in an escape")
			}
			e := body[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, n, err := unicodeEscape(body[i-2:])
				if err != nil {
					return nil, err
				}
				out = utf8.AppendRune(out, r)
				i += n - 2
			default:
				return nil, malformed("bad escape \\%c", e)
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n <= 1 {
				return nil, ErrInvalidUTF8
			}
			out = append(out, body[i:i+n]...)
			i += n
		}
	}
	return out, nil
}

// unicodeEscape decodes \uXXXX (or a surrogate pair \uXXXX\uXXXX) at the start of s.
func unicodeEscape(s []byte) (rune, int, error) {
	r1, ok := hex4(s)
	if !ok {
		return 0, 0, malformed("bad \\u escape")
	}
	if !utf16.IsSurrogate(r1) {
		return r1, 6, nil
	}
	if r1 >= 0xdc00 {
		return 0, 0, ErrInvalidUTF8
	}
	r2, ok := hex4(s[6:])
	if !ok || r2 < 0xdc00 || r2 > 0xdfff {
		return 0, 0, ErrInvalidUTF8
	}
	return utf16.DecodeRune(r1, r2), 12, nil
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range s[2:6] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}
