package wire

import (
	"encoding/binary"
	"unicode/utf8"
)

// bodyLen is the length of f's body in the binary form.
func bodyLen(f *Frame) int {
	switch f.Type {
	case TypeText, TypeBinary:
		return UvarintLen(f.Seq) + len(f.Data)
	case TypeAck:
		return UvarintLen(f.Seq)
	case TypeClose:
		if f.Code == 0 {
			return 0
		}
		return 2 + len(f.Data)
	default:
		return len(f.Data)
	}
}

// BinaryLen is the number of bytes AppendBinary writes for f.
func BinaryLen(f *Frame) int {
	n := bodyLen(f)
	return 1 + UvarintLen(uint64(n)) + n
}

// AppendBinary appends f in the binary form. It does not validate f: encoders build frames
// from values they already checked.
func AppendBinary(dst []byte, f *Frame) []byte {
	return append(AppendBinaryHeader(dst, f), BinaryPayload(f)...)
}

// DecodeBinary decodes the frame at the start of src and returns it with the number of
// bytes it took. It returns ErrTruncated when src ends inside the frame (more bytes may
// complete it), and an error wrapping ErrMalformed or ErrInvalidUTF8 when no continuation
// could make it valid. The returned Data aliases src.
func DecodeBinary(src []byte) (f Frame, n int, err error) {
	if len(src) == 0 {
		return Frame{}, 0, ErrTruncated
	}
	f.Type = Type(src[0])
	if f.Type > TypeClose {
		return Frame{}, 0, malformed("unknown frame type %#x", src[0])
	}
	length, ln, err := uvarint(src[1:])
	if err != nil {
		return Frame{}, 0, err
	}
	if !bodyLenOK(f.Type, length) {
		return Frame{}, 0, malformed("%v body of %d bytes", f.Type, length)
	}
	head := 1 + ln
	if uint64(len(src)-head) < length {
		return Frame{}, 0, ErrTruncated
	}
	n = head + int(length)
	body := src[head:n:n]
	if err := decodeBody(&f, body); err != nil {
		return Frame{}, 0, err
	}
	return f, n, nil
}

// bodyLenOK reports whether some body of n bytes could be valid for type t, so that
// DecodeBinary rejects an impossible length at once instead of waiting for the body.
func bodyLenOK(t Type, n uint64) bool {
	switch t {
	case TypeText, TypeBinary:
		return n >= 1
	case TypeAck:
		return n >= 1 && n <= 8
	case TypePing, TypePong:
		return n <= MaxControlPayload
	case TypeClose:
		return n != 1 && n <= 2+MaxReasonBytes
	}
	return true
}

func decodeBody(f *Frame, body []byte) error {
	switch f.Type {
	case TypeText, TypeBinary:
		seq, sn, err := uvarint(body)
		if err == ErrTruncated {
			return malformed("%v body ends inside its sequence number", f.Type)
		}
		if err != nil {
			return err
		}
		if seq == 0 {
			return malformed("sequence number 0")
		}
		f.Seq, f.Data = seq, body[sn:]
		if f.Type == TypeText && !utf8.Valid(f.Data) {
			return ErrInvalidUTF8
		}
	case TypeAck:
		count, cn, err := uvarint(body)
		if err == ErrTruncated {
			return malformed("ACK body ends inside its count")
		}
		if err != nil {
			return err
		}
		if cn != len(body) {
			return malformed("ACK body has %d trailing bytes", len(body)-cn)
		}
		f.Seq = count
	case TypePing, TypePong:
		if len(body) > MaxControlPayload {
			return malformed("%v payload of %d bytes", f.Type, len(body))
		}
		f.Data = body
	case TypeClose:
		if len(body) == 0 {
			return nil
		}
		if len(body) < 2 {
			return malformed("CLOSE body of 1 byte")
		}
		f.Code = binary.BigEndian.Uint16(body)
		f.Data = body[2:]
		return checkClose(f.Code, f.Data)
	case TypeOpen:
		if !utf8.Valid(body) {
			return ErrInvalidUTF8
		}
		f.Data = body
	default: // TypePad
		f.Data = body
	}
	return nil
}

func checkClose(code uint16, reason []byte) error {
	if !ValidCloseCode(code) {
		return malformed("close code %d", code)
	}
	if len(reason) > MaxReasonBytes {
		return malformed("close reason of %d bytes", len(reason))
	}
	if !utf8.Valid(reason) {
		return ErrInvalidUTF8
	}
	return nil
}

// DecodeBatch decodes every frame of a complete binary-form batch, calling fn for each in
// order. A batch that ends inside a frame is malformed. fn's error stops decoding and is
// returned as is. fn may keep the frame's Data (it aliases src) but not the *Frame, which
// is reused for the next frame.
func DecodeBatch(src []byte, fn func(*Frame) error) error {
	var f Frame // one variable for the whole batch: fn must not keep the pointer
	for len(src) > 0 {
		var err error
		if f, src, err = NextInBatch(src); err != nil {
			return err
		}
		if err := fn(&f); err != nil {
			return err
		}
	}
	return nil
}

// NextInBatch decodes the first frame of src, a complete binary-form batch (or what is
// left of one), and returns it with the rest of the batch: DecodeBatch one frame at a
// time, for a caller that keeps the frame in a variable of its own (a frame passed to a
// callback escapes to the heap). A batch that ends inside a frame is malformed. The
// frame's Data aliases src.
func NextInBatch(src []byte) (f Frame, rest []byte, err error) {
	f, n, err := DecodeBinary(src)
	if err == ErrTruncated {
		return Frame{}, nil, malformed("batch ends inside a frame")
	}
	if err != nil {
		return Frame{}, nil, err
	}
	return f, src[n:], nil
}

// AppendBinaryHeader appends the binary form of f up to its payload: the type, the length
// and the fixed fields (sequence number, ACK count or close code). The payload itself is
// BinaryPayload(f). Together they equal AppendBinary(f); writers use them to avoid copying
// payloads.
func AppendBinaryHeader(dst []byte, f *Frame) []byte {
	dst = append(dst, byte(f.Type))
	dst = AppendUvarint(dst, uint64(bodyLen(f)))
	switch f.Type {
	case TypeText, TypeBinary, TypeAck:
		dst = AppendUvarint(dst, f.Seq)
	case TypeClose:
		if f.Code != 0 {
			dst = binary.BigEndian.AppendUint16(dst, f.Code)
		}
	}
	return dst
}

// BinaryPayload is the part of f's binary form that follows AppendBinaryHeader.
func BinaryPayload(f *Frame) []byte {
	if f.Type == TypeAck || (f.Type == TypeClose && f.Code == 0) {
		return nil
	}
	return f.Data
}
