package wire

import "testing"

func TestValidCloseCode(t *testing.T) {
	// PROTOCOL.md section 9 and RFC 6455 section 7.4: the sendable codes.
	ranges := [][2]int{{1000, 1003}, {1007, 1014}, {3000, 4999}}
	for c := 0; c <= 0xffff; c++ {
		want := false
		for _, r := range ranges {
			if c >= r[0] && c <= r[1] {
				want = true
			}
		}
		if got := ValidCloseCode(uint16(c)); got != want {
			t.Errorf("ValidCloseCode(%d) = %v, want %v", c, got, want)
		}
	}
	for _, tc := range []struct {
		code uint16
		ok   bool
	}{
		{CloseNormal, true}, {CloseGoingAway, true}, {CloseProtocolError, true},
		{CloseUnsupportedData, true}, {CloseNoStatus, false}, {CloseAbnormal, false},
		{CloseInvalidPayload, true}, {ClosePolicyViolation, true}, {CloseMessageTooBig, true},
		{CloseInternalError, true}, {CloseServiceRestart, true}, {CloseTryAgainLater, true},
		{CloseUnsupportedVersion, true}, {CloseBadRequest, true}, {CloseUnknownSession, true},
		{CloseReplaced, true}, {CloseResumeExpired, true}, {ClosePeerTooSlow, true},
		{0, false}, {999, false}, {1004, false}, {1015, false}, {2999, false}, {5000, false},
	} {
		if got := ValidCloseCode(tc.code); got != tc.ok {
			t.Errorf("ValidCloseCode(%d) = %v, want %v", tc.code, got, tc.ok)
		}
	}
}

func TestCloseCodeValues(t *testing.T) {
	// The numbers of PROTOCOL.md section 9's table.
	for _, tc := range []struct {
		got, want uint16
	}{
		{CloseNormal, 1000}, {CloseGoingAway, 1001}, {CloseProtocolError, 1002},
		{CloseUnsupportedData, 1003}, {CloseNoStatus, 1005}, {CloseAbnormal, 1006},
		{CloseInvalidPayload, 1007}, {ClosePolicyViolation, 1008}, {CloseMessageTooBig, 1009},
		{CloseInternalError, 1011}, {CloseServiceRestart, 1012}, {CloseTryAgainLater, 1013},
		{CloseUnsupportedVersion, 4001}, {CloseBadRequest, 4002}, {CloseUnknownSession, 4004},
		{CloseReplaced, 4005}, {CloseResumeExpired, 4006}, {ClosePeerTooSlow, 4008},
	} {
		if tc.got != tc.want {
			t.Errorf("close code constant %d, want %d", tc.got, tc.want)
		}
	}
}

func TestTypeNames(t *testing.T) {
	want := []string{"PAD", "OPEN", "TEXT", "BINARY", "ACK", "PING", "PONG", "CLOSE"}
	for i, name := range want {
		if got := Type(i).String(); got != name {
			t.Errorf("Type(%d).String() = %q, want %q", i, got, name)
		}
		if got, wantData := Type(i).IsData(), name == "TEXT" || name == "BINARY"; got != wantData {
			t.Errorf("%s.IsData() = %v", name, got)
		}
	}
	if got := Type(8).String(); got != "Type(0x8)" {
		t.Errorf("Type(8).String() = %q", got)
	}
}
