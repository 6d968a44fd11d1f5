package framers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock/bench/loadgen"
)

// Centrifuge speaks the Centrifuge JSON protocol (v2) over WebSocket to the centrifuge
// server of bench/cmd/benchserver at /connection/websocket: a connect command, then every
// message as the data (a JSON string) of an RPC command, the commands of one Send
// newline-delimited in one WebSocket message. The server's handler answers each RPC with
// its data, so an echo is an RPC reply; a broadcast is a publication pushed on the
// server-side subscription "bench". The server's pings ("{}") are answered with "{}".
type Centrifuge struct{}

func (Centrifuge) Name() string { return "centrifuge/websocket" }

func (Centrifuge) Dial(ctx context.Context, base string) (loadgen.Conn, error) {
	c, err := dialWS(ctx, wsURL(base, "/connection/websocket"))
	if err != nil {
		return nil, err
	}
	conn := &cfConn{wsConn: c, id: 1}
	fail := func(err error) (loadgen.Conn, error) {
		c.Close()
		return nil, fmt.Errorf("failed to open a Centrifuge connection: %w", err)
	}
	if err := c.write(websocket.TextMessage, []byte(`{"id":1,"connect":{}}`)); err != nil {
		return fail(err)
	}
	r, err := conn.reply(ctx)
	if err != nil {
		return fail(err)
	}
	if r.ID != 1 || r.Connect == nil {
		return fail(fmt.Errorf("expected the connect reply, got id %d", r.ID))
	}
	return conn, nil
}

type cfConn struct {
	*wsConn
	id      uint32 // last command id (the sender's)
	pending [][]byte
}

type cfReply struct {
	ID    uint32 `json:"id"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Connect json.RawMessage `json:"connect"`
	RPC     *struct {
		Data json.RawMessage `json:"data"`
	} `json:"rpc"`
	Push *struct {
		Pub *struct {
			Data json.RawMessage `json:"data"`
		} `json:"pub"`
	} `json:"push"`
}

func (c *cfConn) Send(_ context.Context, msgs ...[]byte) error {
	var b []byte
	for i, m := range msgs {
		if i > 0 {
			b = append(b, '\n')
		}
		c.id++
		b = append(b, `{"id":`...)
		b = strconv.AppendUint(b, uint64(c.id), 10)
		b = append(b, `,"rpc":{"data":`...)
		s, _ := json.Marshal(string(m)) // strings always marshal
		b = append(b, s...)
		b = append(b, "}}"...)
	}
	return c.write(websocket.TextMessage, b)
}

// replies reads one WebSocket message and decodes its newline-delimited replies,
// answering pings.
func (c *cfConn) replies(ctx context.Context) ([]cfReply, error) {
	b, err := c.read(ctx)
	if err != nil {
		return nil, err
	}
	var out []cfReply
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if bytes.Equal(line, []byte("{}")) {
			if err := c.write(websocket.TextMessage, []byte("{}")); err != nil {
				return nil, err
			}
			continue
		}
		var r cfReply
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("bad Centrifuge reply %.80q: %w", line, err)
		}
		if r.Error != nil {
			return nil, fmt.Errorf("Centrifuge error %d: %s", r.Error.Code, r.Error.Message)
		}
		out = append(out, r)
	}
	return out, nil
}

// reply returns the first reply of the next message that has one.
func (c *cfConn) reply(ctx context.Context) (cfReply, error) {
	for {
		rs, err := c.replies(ctx)
		if err != nil || len(rs) > 0 {
			if err != nil {
				return cfReply{}, err
			}
			return rs[0], nil
		}
	}
}

func (c *cfConn) Recv(ctx context.Context) ([]byte, error) {
	for len(c.pending) == 0 {
		rs, err := c.replies(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			var data json.RawMessage
			switch {
			case r.RPC != nil:
				data = r.RPC.Data
			case r.Push != nil && r.Push.Pub != nil:
				data = r.Push.Pub.Data
			default:
				continue // other pushes (e.g. the subscription's) carry no message
			}
			var m string
			if err := json.Unmarshal(data, &m); err != nil {
				return nil, fmt.Errorf("bad Centrifuge data %.80q", data)
			}
			c.pending = append(c.pending, []byte(m))
		}
	}
	m := c.pending[0]
	c.pending = c.pending[1:]
	return m, nil
}
