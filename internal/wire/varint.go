package wire

// AppendUvarint appends v in minimal unsigned LEB128. v must not exceed MaxSafe.
func AppendUvarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// UvarintLen is the number of bytes AppendUvarint writes for v.
func UvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// uvarint decodes a minimal uvarint of at most 8 bytes whose value is at most MaxSafe.
// It returns n == 0 with ErrTruncated when src ends inside the number.
func uvarint(src []byte) (v uint64, n int, err error) {
	var shift uint
	for i, b := range src {
		if i == 7 && b >= 0x80 {
			return 0, 0, malformed("uvarint longer than 8 bytes")
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			if b == 0 && i > 0 {
				return 0, 0, malformed("uvarint not minimal")
			}
			if v > MaxSafe {
				return 0, 0, malformed("uvarint above 2^53-1")
			}
			return v, i + 1, nil
		}
		shift += 7
	}
	return 0, 0, ErrTruncated
}
