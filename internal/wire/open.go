package wire

import (
	"encoding/json"
	"fmt"
)

// Open is the body of an OPEN frame (PROTOCOL.md section 5). Durations are milliseconds.
type Open struct {
	Version    int    `json:"v"`
	Session    string `json:"sid"`
	Token      string `json:"token"`
	Transport  string `json:"transport"`
	Protocol   string `json:"protocol"`
	Resumed    bool   `json:"resumed"`
	Ack        uint64 `json:"ack"`
	Ping       int64  `json:"ping"`
	Timeout    int64  `json:"timeout"`
	Resume     int64  `json:"resume"`
	MaxMessage int64  `json:"maxMessage"`
	MaxBody    int64  `json:"maxBody"`
}

// Frame returns the OPEN frame carrying o.
func (o *Open) Frame() Frame {
	body, err := json.Marshal(o)
	if err != nil { // Open has only strings, numbers and bools: this cannot fail.
		panic(err)
	}
	return Frame{Type: TypeOpen, Data: body}
}

// DecodeOpen parses an OPEN body. Unknown members are ignored; the version must be 1 and
// the session id and token present.
func DecodeOpen(body []byte) (Open, error) {
	var o Open
	if err := json.Unmarshal(body, &o); err != nil {
		return Open{}, fmt.Errorf("%w: OPEN body: %v", ErrMalformed, err)
	}
	if o.Version != Version {
		return Open{}, fmt.Errorf("%w: OPEN names version %d", ErrMalformed, o.Version)
	}
	if o.Session == "" || o.Token == "" {
		return Open{}, fmt.Errorf("%w: OPEN without sid or token", ErrMalformed)
	}
	for _, n := range []int64{o.Ping, o.Timeout, o.Resume, o.MaxMessage, o.MaxBody} {
		if n < 0 || n > MaxSafe {
			return Open{}, fmt.Errorf("%w: OPEN number out of range", ErrMalformed)
		}
	}
	if o.Ack > MaxSafe {
		return Open{}, fmt.Errorf("%w: OPEN ack above 2^53-1", ErrMalformed)
	}
	return o, nil
}

// ValidSessionID reports whether id has the form PROTOCOL.md section 3 allows: 1–64
// characters from [A-Za-z0-9_-].
func ValidSessionID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
