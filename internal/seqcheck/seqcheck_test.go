package seqcheck

import "testing"

func TestCheck(t *testing.T) {
	n, err := Check([]string{"a0.0", "a1.0", "a0.1"}, "a", 2)
	if err != nil || n[0] != 2 || n[1] != 1 {
		t.Fatalf("Check = %v, %v", n, err)
	}
	for _, bad := range [][]string{{"a0.1"}, {"a0.0", "a0.0"}, {"a2.0"}, {"b0.0"}, {"a0"}, {"a0.0x"}, {"a0.00"}} {
		if _, err := Check(bad, "a", 2); err == nil {
			t.Errorf("Check(%q) passed", bad)
		}
	}
	if Same([]string{"x", "y"}, []string{"x", "y"}) != nil || Same([]string{"x"}, []string{"y"}) == nil || Same([]string{"x"}, []string{"x", "y"}) == nil {
		t.Error("Same is wrong")
	}
}
