package client

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseEndpoint(t *testing.T) {
	cases := []struct {
		in, wantWS, wantHTTP string
	}{
		{"ws://example.com/rt", "ws://example.com/rt?ps_v=1", "http://example.com/rt?ps_v=1"},
		{"wss://example.com/rt", "wss://example.com/rt?ps_v=1", "https://example.com/rt?ps_v=1"},
		{"http://example.com:8080/rt", "ws://example.com:8080/rt?ps_v=1", "http://example.com:8080/rt?ps_v=1"},
		{"HTTPS://example.com", "wss://example.com?ps_v=1", "https://example.com?ps_v=1"},
		{"ws://example.com/rt?room=a%20b&z=1&a=2", "ws://example.com/rt?room=a%20b&z=1&a=2&ps_v=1", "http://example.com/rt?room=a%20b&z=1&a=2&ps_v=1"},
		{"ws://example.com/rt?", "ws://example.com/rt?ps_v=1", "http://example.com/rt?ps_v=1"},
		{"ws://[::1]:9/a/b", "ws://[::1]:9/a/b?ps_v=1", "http://[::1]:9/a/b?ps_v=1"},
	}
	for _, c := range cases {
		e, err := parseEndpoint(c.in)
		if err != nil {
			t.Errorf("parseEndpoint(%q): %v", c.in, err)
			continue
		}
		if got := e.url(true, carrierParams{}); got != c.wantWS {
			t.Errorf("parseEndpoint(%q).url(ws) = %q, want %q", c.in, got, c.wantWS)
		}
		if got := e.url(false, carrierParams{}); got != c.wantHTTP {
			t.Errorf("parseEndpoint(%q).url(http) = %q, want %q", c.in, got, c.wantHTTP)
		}
	}
}

func TestParseEndpointErrors(t *testing.T) {
	cases := map[string]string{
		"ws://example.com/rt#frag":     "fragment",
		"ws://example.com/rt#":         "fragment",
		"ftp://example.com/rt":         "unsupported URL scheme",
		"/rt":                          "not absolute",
		"example.com/rt":               "not absolute",
		"ws:///rt":                     "no host",
		"ws:opaque":                    "no host",
		"ws://example.com/rt?ps_v=1":   `"ps_v"`,
		"ws://example.com/rt?a&ps_sid": `"ps_sid"`,
		"ws://example.com/rt?ps%5Fp=x": `"ps_p"`,
		"ws://exa mple.com/":           "invalid URL",
		"":                             "not absolute",
	}
	for in, want := range cases {
		_, err := parseEndpoint(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseEndpoint(%q) error = %v, want one mentioning %s", in, err, want)
		}
	}
}

func TestEndpointKeepsAppParamsAndAddsOurs(t *testing.T) {
	e, err := parseEndpoint("wss://user:pw@example.com/chat?ps=1&x=%2F")
	if err != nil {
		t.Fatal(err)
	}
	if e.user == nil || e.user.Username() != "user" {
		t.Errorf("user info = %v, want user", e.user)
	}
	raw := e.url(false, carrierParams{
		transport: "poll", encoding: "bin", sid: "abc", token: "t+k", ack: 42,
		protocols: []string{"chat.v2", "a|b", "x#y"},
	})
	if strings.Contains(raw, "user") {
		t.Errorf("URL %q still carries the user info", raw)
	}
	if !strings.HasPrefix(raw, "https://example.com/chat?ps=1&x=%2F&") {
		t.Errorf("URL %q does not keep the application's query first, as written", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	want := map[string]string{
		"ps": "1", "x": "/", "ps_v": "1", "ps_t": "poll", "ps_e": "bin", "ps_sid": "abc",
		"ps_tok": "t+k", "ps_ack": "42", "ps_p": "chat.v2,a|b,x#y",
	}
	for k, v := range want {
		if got := q[k]; len(got) != 1 || got[0] != v {
			t.Errorf("query %s = %q, want [%q]", k, got, v)
		}
	}
	if len(q) != len(want) {
		t.Errorf("query %v has parameters beyond %v", q, want)
	}
}
