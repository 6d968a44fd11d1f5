package framers

import (
	"context"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock/bench/loadgen"
)

// Raw is the reference: the plain gorilla/websocket echo at /ws, one text frame per
// message.
type Raw struct{}

func (Raw) Name() string { return "raw/websocket" }

func (Raw) Dial(ctx context.Context, base string) (loadgen.Conn, error) {
	c, err := dialWS(ctx, wsURL(base, "/ws"))
	if err != nil {
		return nil, err
	}
	return rawConn{c}, nil
}

type rawConn struct{ *wsConn }

func (r rawConn) Send(_ context.Context, msgs ...[]byte) error {
	for _, m := range msgs {
		if err := r.write(websocket.TextMessage, m); err != nil {
			return err
		}
	}
	return nil
}

func (r rawConn) Recv(ctx context.Context) ([]byte, error) { return r.read(ctx) }
