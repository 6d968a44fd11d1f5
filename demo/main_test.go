package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The admin endpoint's check: a request from this machine passes, one from elsewhere
// does not, nor one that a proxy on this machine passed on for another client.
func TestFromLoopback(t *testing.T) {
	for _, tc := range []struct {
		remote, forwardedFor string
		want                 bool
	}{
		{"127.0.0.1:5000", "", true},
		{"[::1]:5000", "", true},
		{"192.0.2.7:5000", "", false},
		{"127.0.0.1:5000", "192.0.2.7", false},
	} {
		r := httptest.NewRequest(http.MethodPost, "/admin/kick", nil)
		r.RemoteAddr = tc.remote
		if tc.forwardedFor != "" {
			r.Header.Set("X-Forwarded-For", tc.forwardedFor)
		}
		if got := fromLoopback(r); got != tc.want {
			t.Errorf("fromLoopback(%s, X-Forwarded-For %q) = %v, want %v", tc.remote, tc.forwardedFor, got, tc.want)
		}
	}
}
