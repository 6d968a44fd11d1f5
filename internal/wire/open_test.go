package wire

import (
	"errors"
	"strings"
	"testing"
)

var testOpen = Open{
	Version:    1,
	Session:    "n1-Zx8_q4TbKp2",
	Token:      "q8vJ0nX2mR7tY4pL1cF6hA",
	Transport:  TransportWebSocket,
	Protocol:   "chat.v2",
	Resumed:    false,
	Ack:        0,
	Ping:       25000,
	Timeout:    60000,
	Resume:     30000,
	MaxMessage: 1 << 20,
	MaxBody:    1<<20 + 64<<10,
}

func TestOpenRoundTrip(t *testing.T) {
	f := testOpen.Frame()
	if f.Type != TypeOpen {
		t.Fatalf("Frame().Type = %v", f.Type)
	}
	got, err := DecodeOpen(f.Data)
	if err != nil || got != testOpen {
		t.Fatalf("DecodeOpen(%s) = %+v, %v; want %+v", f.Data, got, err, testOpen)
	}
	// The golden OPEN vector is the body this package writes for the same values.
	var golden string
	for _, e := range loadVectors(t).Binary {
		if e.Name == "open realistic body" {
			golden = *e.Frames[0].Data
		}
	}
	if golden == "" {
		t.Fatal(`no binary vector "open realistic body"`)
	}
	if string(f.Data) != golden {
		t.Errorf("Frame().Data = %s\nwant the golden body %s", f.Data, golden)
	}

	resumed := testOpen
	resumed.Transport, resumed.Resumed, resumed.Ack, resumed.Protocol = TransportPoll, true, MaxSafe, ""
	f = resumed.Frame()
	if got, err := DecodeOpen(f.Data); err != nil || got != resumed {
		t.Errorf("DecodeOpen(%s) = %+v, %v; want %+v", f.Data, got, err, resumed)
	}
	// The body goes into a text-form line unchanged.
	line := AppendText(nil, &f)
	back, err := DecodeText(line)
	if err != nil || !frameEqual(&back, &f) {
		t.Errorf("text form %q decodes to %s, %v", line, fmtFrame(&back), err)
	}
}

func TestDecodeOpenIgnoresUnknownMembers(t *testing.T) {
	body := `{"future":{"nested":[1,"x",null]},"v":1,"sid":"s","token":"t","extra":true,` +
		`"transport":"stream","ack":7,"another":"\u00e9"}`
	got, err := DecodeOpen([]byte(body))
	want := Open{Version: 1, Session: "s", Token: "t", Transport: "stream", Ack: 7}
	if err != nil || got != want {
		t.Errorf("DecodeOpen = %+v, %v; want %+v", got, err, want)
	}
}

func TestDecodeOpenRejects(t *testing.T) {
	for _, body := range []string{
		``,
		`null`,
		`[]`,
		`"v"`,
		`{`,
		`{"v":1,"sid":"s","token":"t"}x`,
		`{}`,
		`{"sid":"s","token":"t"}`,         // no version
		`{"v":0,"sid":"s","token":"t"}`,   // version 0
		`{"v":2,"sid":"s","token":"t"}`,   // version 2
		`{"v":"1","sid":"s","token":"t"}`, // version as a string
		`{"v":1.5,"sid":"s","token":"t"}`, // not an integer
		`{"v":1,"token":"t"}`,             // no sid
		`{"v":1,"sid":"","token":"t"}`,    // empty sid
		`{"v":1,"sid":"s"}`,               // no token
		`{"v":1,"sid":"s","token":""}`,    // empty token
		`{"v":1,"sid":5,"token":"t"}`,     // sid not a string
		`{"v":1,"sid":"s","token":"t","ack":-1}`,
		`{"v":1,"sid":"s","token":"t","resumed":"yes"}`,
	} {
		got, err := DecodeOpen([]byte(body))
		if !errors.Is(err, ErrMalformed) || got != (Open{}) {
			t.Errorf("DecodeOpen(%s) = %+v, %v; want ErrMalformed", body, got, err)
		}
	}
}

func TestValidSessionID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"a", true},
		{"Z", true},
		{"0", true},
		{"_", true},
		{"-", true},
		{"n1-Zx8_q4TbKp2", true},
		{"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", true},
		{strings.Repeat("x", 64), true},
		{strings.Repeat("x", 65), false},
		{"", false},
		{"a.b", false},
		{"a b", false},
		{"a+b", false},
		{"a/b", false},
		{"a=", false},
		{"a%20", false},
		{"é", false},
		{"a\x00", false},
		{"a\n", false},
	} {
		if got := ValidSessionID(tc.id); got != tc.ok {
			t.Errorf("ValidSessionID(%q) = %v, want %v", tc.id, got, tc.ok)
		}
	}
}
