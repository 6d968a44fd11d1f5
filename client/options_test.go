package client

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c, err := newConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.transports, ",") != "websocket,stream,poll" {
		t.Errorf("transports = %v, want [websocket stream poll]", c.transports)
	}
	if c.attemptTimeout != 10*time.Second {
		t.Errorf("attemptTimeout = %v, want 10s", c.attemptTimeout)
	}
	if c.maxMessage != 1<<20 || c.readQueue != 256 || c.replayBuffer != 8<<20 {
		t.Errorf("limits = %d, %d, %d; want 1 MiB, 256, 8 MiB", c.maxMessage, c.readQueue, c.replayBuffer)
	}
	if c.httpClient != http.DefaultClient || c.log == nil || c.header == nil {
		t.Errorf("nil fields not defaulted: %+v", c)
	}
}

func TestConfigKeepsValuesAndCopies(t *testing.T) {
	o := &Options{
		Transports:     []string{"websocket"},
		Protocols:      []string{"chat", "v2.json"},
		Header:         http.Header{"Origin": {"http://x"}},
		MaxMessageSize: 10,
		ReadQueue:      3,
		ReplayBuffer:   1000,
	}
	c, err := newConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	o.Protocols[0] = "changed"
	o.Header.Set("Origin", "changed")
	if c.protocols[0] != "chat" || c.header.Get("Origin") != "http://x" {
		t.Errorf("config shares the caller's slices: %v %v", c.protocols, c.header)
	}
	if c.maxMessage != 10 || c.readQueue != 3 || c.replayBuffer != 1000 {
		t.Errorf("limits = %d, %d, %d; want 10, 3, 1000", c.maxMessage, c.readQueue, c.replayBuffer)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		o    Options
		want string
	}{
		{Options{Transports: []string{"poll", "stream", "poll"}}, `"poll" listed twice`},
		{Options{AttemptTimeout: -time.Second}, "invalid AttemptTimeout"},
		{Options{Transports: []string{"sockjs"}}, `unknown transport "sockjs"`},
		{Options{Transports: []string{"websocket", "websocket"}}, "listed twice"},
		{Options{Protocols: []string{""}}, "RFC 7230 token"},
		{Options{Protocols: []string{"a b"}}, "RFC 7230 token"},
		{Options{Protocols: []string{"a,b"}}, "RFC 7230 token"},
		{Options{Protocols: []string{"caf\u00e9"}}, "RFC 7230 token"},
		{Options{Protocols: []string{"a/b"}}, "RFC 7230 token"},
		{Options{Protocols: []string{"x", "y", "x"}}, "offered twice"},
		{Options{MaxMessageSize: -1}, "MaxMessageSize"},
		{Options{ReadQueue: -1}, "ReadQueue"},
		{Options{ReplayBuffer: -1}, "ReplayBuffer"},
		{Options{Header: http.Header{"Sec-Websocket-Protocol": {"x"}}}, "Options.Protocols"},
	}
	for _, c := range cases {
		_, err := newConfig(&c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("newConfig(%+v) error = %v, want one containing %s", c.o, err, c.want)
		}
	}
}

func TestIsToken(t *testing.T) {
	for _, s := range []string{"a", "chat", "v1.json", "!#$%&'*+-.^_`|~", "Z9"} {
		if !isToken(s) {
			t.Errorf("isToken(%q) = false", s)
		}
	}
	for _, s := range []string{"", " ", "a b", "a\tb", "(x)", "a;b", "a=b", "\"q\"", "x\x7f", "@", "[a]", "{a}", "a?b", "a:b"} {
		if isToken(s) {
			t.Errorf("isToken(%q) = true", s)
		}
	}
}
