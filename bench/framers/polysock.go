package framers

import (
	"context"
	"fmt"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/bench/loadgen"
	"github.com/polysock/polysock/client"
)

// Polysock drives the polysock server at /ps through the Go client on one transport
// ("websocket", "stream" or "poll"); the client batches what is queued, so a Send of
// several messages usually goes out as one batch.
type Polysock string

func (p Polysock) Name() string { return "polysock/" + string(p) }

func (p Polysock) Dial(ctx context.Context, base string) (loadgen.Conn, error) {
	c, err := client.Dial(ctx, base+"/ps", &client.Options{Transports: []string{string(p)}, HTTPClient: httpClient})
	if err != nil {
		return nil, fmt.Errorf("failed to open a polysock session: %w", err)
	}
	return polysockConn{c}, nil
}

type polysockConn struct{ c *client.Conn }

func (p polysockConn) Send(ctx context.Context, msgs ...[]byte) error {
	for _, m := range msgs {
		if err := p.c.Write(ctx, polysock.Text, m); err != nil {
			return err
		}
	}
	return nil
}

func (p polysockConn) Recv(ctx context.Context) ([]byte, error) {
	_, b, err := p.c.Read(ctx)
	return b, err
}

func (p polysockConn) Close() error { return p.c.Close(polysock.CloseNormal, "") }
