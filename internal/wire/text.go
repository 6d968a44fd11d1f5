package wire

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

var b64 = base64.StdEncoding.Strict()

var textLetters = [...]byte{TypeOpen: 'o', TypeText: 't', TypeBinary: 'b', TypeAck: 'a', TypePing: 'p', TypePong: 'q', TypeClose: 'c'}

// AppendText appends f in the text form: one line, without the terminating LF. A PAD
// frame becomes a line of len(f.Data) spaces (at least one).
func AppendText(dst []byte, f *Frame) []byte {
	switch f.Type {
	case TypePad:
		n := max(len(f.Data), 1)
		for range n {
			dst = append(dst, ' ')
		}
		return dst
	case TypeOpen:
		dst = append(dst, 'o')
		return append(dst, f.Data...)
	case TypeText:
		dst = append(dst, 't')
		dst = strconv.AppendUint(dst, f.Seq, 10)
		dst = append(dst, ':')
		return AppendJSONString(dst, f.Data)
	case TypeBinary:
		dst = append(dst, 'b')
		dst = strconv.AppendUint(dst, f.Seq, 10)
		dst = append(dst, ':')
		return b64.AppendEncode(dst, f.Data)
	case TypeAck:
		dst = append(dst, 'a')
		return strconv.AppendUint(dst, f.Seq, 10)
	case TypePing, TypePong:
		dst = append(dst, textLetters[f.Type])
		return b64.AppendEncode(dst, f.Data)
	case TypeClose:
		dst = append(dst, 'c')
		if f.Code == 0 {
			return dst
		}
		dst = strconv.AppendUint(dst, uint64(f.Code), 10)
		dst = append(dst, ':')
		return AppendJSONString(dst, f.Data)
	}
	return dst
}

// DecodeText decodes one text-form line (without its LF). The returned Data never aliases
// line except for OPEN and PAD frames.
func DecodeText(line []byte) (Frame, error) {
	if bytes.IndexByte(line, '\r') >= 0 || bytes.IndexByte(line, '\n') >= 0 {
		return Frame{}, malformed("line holds CR or LF")
	}
	if len(line) == 0 || line[0] == ' ' {
		return Frame{Type: TypePad, Data: line}, nil
	}
	rest := line[1:]
	switch line[0] {
	case 'o':
		if !utf8.Valid(rest) {
			return Frame{}, ErrInvalidUTF8
		}
		return Frame{Type: TypeOpen, Data: rest}, nil
	case 't', 'b':
		numText, payload, ok := bytes.Cut(rest, []byte{':'})
		if !ok {
			return Frame{}, malformed("data line without ':'")
		}
		seq, err := ParseCount(numText)
		if err != nil {
			return Frame{}, err
		}
		if seq == 0 {
			return Frame{}, malformed("sequence number 0")
		}
		if line[0] == 't' {
			data, err := ParseJSONString(payload)
			return Frame{Type: TypeText, Seq: seq, Data: data}, err
		}
		data, err := decodeBase64(payload)
		return Frame{Type: TypeBinary, Seq: seq, Data: data}, err
	case 'a':
		n, err := ParseCount(rest)
		return Frame{Type: TypeAck, Seq: n}, err
	case 'p', 'q':
		data, err := decodeBase64(rest)
		if err != nil {
			return Frame{}, err
		}
		if len(data) > MaxControlPayload {
			return Frame{}, malformed("control payload of %d bytes", len(data))
		}
		t := TypePing
		if line[0] == 'q' {
			t = TypePong
		}
		return Frame{Type: t, Data: data}, nil
	case 'c':
		if len(rest) == 0 {
			return Frame{Type: TypeClose}, nil
		}
		codeText, reasonJSON, ok := bytes.Cut(rest, []byte{':'})
		if !ok {
			return Frame{}, malformed("CLOSE line without ':'")
		}
		code, err := ParseCount(codeText)
		if err != nil {
			return Frame{}, err
		}
		if code > 0xffff {
			return Frame{}, malformed("close code %d", code)
		}
		reason, err := ParseJSONString(reasonJSON)
		if err != nil {
			return Frame{}, err
		}
		if err := checkClose(uint16(code), reason); err != nil {
			return Frame{}, err
		}
		return Frame{Type: TypeClose, Code: uint16(code), Data: reason}, nil
	}
	return Frame{}, malformed("unknown line letter %q", line[0])
}

func decodeBase64(s []byte) ([]byte, error) {
	out := make([]byte, b64.DecodedLen(len(s)))
	n, err := b64.Decode(out, s)
	if err != nil {
		return nil, malformed("bad base64: %v", err)
	}
	return out[:n], nil
}

// ParseCount parses a protocol decimal: ASCII digits, no sign, no leading zeros, at most
// MaxSafe.
func ParseCount[T string | []byte](s T) (uint64, error) {
	if len(s) == 0 || len(s) > 16 {
		return 0, malformed("bad number %q", s)
	}
	if s[0] == '0' && len(s) > 1 {
		return 0, malformed("number %q has a leading zero", s)
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, malformed("bad number %q", s)
		}
		v = v*10 + uint64(c-'0')
	}
	if v > MaxSafe {
		return 0, malformed("number %q above 2^53-1", s)
	}
	return v, nil
}

// DecodeTextBatch decodes a text-form body: lines separated by LF, an optional final LF.
// fn is called for each frame in order; its error stops decoding and is returned as is.
// fn may keep the frame's Data but not the *Frame, which is reused for the next frame.
func DecodeTextBatch(src []byte, fn func(*Frame) error) error {
	var f Frame
	for len(src) > 0 {
		line, rest, _ := bytes.Cut(src, []byte{'\n'})
		var err error
		f, err = DecodeText(line)
		if err != nil {
			return err
		}
		if err := fn(&f); err != nil {
			return err
		}
		src = rest
	}
	return nil
}
