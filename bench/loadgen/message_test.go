package loadgen

import (
	"bytes"
	"strings"
	"testing"
)

func TestAppendParse(t *testing.T) {
	for _, size := range []int{0, 10, 64, 1024} {
		b := Append(nil, "12", 345, 1700000000123456789, size)
		if size >= 30 && len(b) != size {
			t.Fatalf("size %d: got %d bytes", size, len(b))
		}
		m, err := Parse(b)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if m.ID != "12" || m.Seq != 345 || m.Sent != 1700000000123456789 || m.Bytes != len(b) {
			t.Fatalf("size %d: parsed %+v", size, m)
		}
		if bytes.ContainsAny(b, "\"\\\x00\n") {
			t.Fatalf("size %d: message %q is not JSON-safe", size, b)
		}
	}
}

func TestCheckerCatchesFaults(t *testing.T) {
	msg := func(id string, seq uint64, size int) []byte { return Append(nil, id, seq, 1, size) }
	corrupt := msg("a", 0, 64)
	corrupt[50]++
	cases := []struct {
		name string
		in   [][]byte
		want string
	}{
		{"lost", [][]byte{msg("a", 0, 64), msg("a", 2, 64)}, "out of order or lost: got message 2, expected 1"},
		{"reordered", [][]byte{msg("a", 1, 64), msg("a", 0, 64)}, "out of order or lost: got message 1, expected 0"},
		{"duplicated", [][]byte{msg("a", 0, 64), msg("a", 0, 64)}, "out of order or lost: got message 0, expected 1"},
		{"other connection", [][]byte{msg("b", 0, 64)}, `received a message of "b"`},
		{"truncated", [][]byte{msg("a", 0, 64)[:40]}, "has 40 bytes, expected 64"},
		{"corrupt", [][]byte{corrupt}, "corrupt content at byte 50"},
		{"malformed", [][]byte{[]byte("garbage")}, "malformed message"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := Checker{ID: "a", Size: 64}
			var err error
			for _, b := range c.in {
				if _, err = ch.Check(b); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	ch := Checker{ID: "a", Size: 64}
	for seq := range uint64(3) {
		if _, err := ch.Check(msg("a", seq, 64)); err != nil {
			t.Fatalf("in-order message %d refused: %v", seq, err)
		}
	}
}

// FuzzParse: Parse never panics, and whatever it accepts Append reproduces byte for byte.
func FuzzParse(f *testing.F) {
	f.Add(Append(nil, "P", 7, 123, 64))
	f.Add([]byte("1:2:3:"))
	f.Add([]byte("::::"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		again := Append(nil, m.ID, m.Seq, m.Sent, len(b))
		if strings.Contains(m.ID, ":") || !bytes.Equal(again, b) {
			// Parse accepted a form Append does not make (e.g. "+1" or leading zeros):
			// it must still have read the fields it reports.
			if m2, err := Parse(again); err != nil || m2.Seq != m.Seq || m2.Sent != m.Sent {
				t.Fatalf("Parse(%q) = %+v, and Append of it does not parse back: %v", b, m, err)
			}
		}
	})
}
