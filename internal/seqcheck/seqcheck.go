package seqcheck

import (
	"fmt"
	"strings"
)

// Name is message k of sender under prefix: "<prefix><sender>.<k>".
func Name(prefix string, sender, k int) string { return fmt.Sprintf("%s%d.%d", prefix, sender, k) }

// Check reports the first of msgs that is not the next message of its sender (each
// sender's messages counted from 0, without gap or duplicate), or one that is not a
// message of a sender in [0, senders). It returns how many messages of each sender it
// saw.
func Check(msgs []string, prefix string, senders int) ([]int, error) {
	next := make([]int, senders)
	for i, m := range msgs {
		var p, k int
		rest, ok := strings.CutPrefix(m, prefix)
		if _, err := fmt.Sscanf(rest, "%d.%d", &p, &k); !ok || err != nil || p < 0 || p >= senders || rest != fmt.Sprintf("%d.%d", p, k) {
			return next, fmt.Errorf("message %d, %q, is not from one of %d senders", i, m, senders)
		}
		if k != next[p] {
			return next, fmt.Errorf("message %d, %q: want %s", i, m, Name(prefix, p, next[p]))
		}
		next[p]++
	}
	return next, nil
}

// Same reports an error when the lists differ: the first index where they do.
func Same(a, b []string) error {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Errorf("message %d differs: %q and %q", i, a[i], b[i])
		}
	}
	if len(a) != len(b) {
		return fmt.Errorf("%d and %d messages", len(a), len(b))
	}
	return nil
}
