package bench

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polysock/polysock"
	"github.com/polysock/polysock/client"
	"github.com/polysock/polysock/server"
)

// echoStacks are the stacks BenchmarkEcho compares, in the order it runs them.
var echoStacks = []echoStack{
	{name: "polysock", start: startPolysock, dial: dialPolysock},
	{name: "raw", start: startRaw, dial: dialRaw},
}

func startPolysock(tb testing.TB) (string, func()) {
	srv := server.New(PolysockEcho, nil)
	ts := httptest.NewServer(srv)
	return "ws" + strings.TrimPrefix(ts.URL, "http"), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("failed to shut down: %v", err)
		}
		ts.Close()
	}
}

type polysockConn struct{ c *client.Conn }

func dialPolysock(ctx context.Context, url string) (echoConn, error) {
	c, err := client.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	return polysockConn{c}, nil
}

func (p polysockConn) send(ctx context.Context, data []byte) error {
	return p.c.Write(ctx, polysock.Binary, data)
}

func (p polysockConn) recv(ctx context.Context) ([]byte, error) {
	typ, data, err := p.c.Read(ctx)
	if err == nil && typ != polysock.Binary {
		err = fmt.Errorf("echo has type %v", typ)
	}
	return data, err
}

func (p polysockConn) close() error { return p.c.Close(polysock.CloseNormal, "") }

func startRaw(tb testing.TB) (string, func()) {
	ts := httptest.NewServer(RawEcho(nil, nil))
	return "ws" + strings.TrimPrefix(ts.URL, "http"), ts.Close
}

// rawConn is the raw gorilla/websocket client: WriteMessage and ReadMessage. Its context
// arguments are unused (gorilla has none); a read deadline of echoGuard is the hang guard.
type rawConn struct{ c *websocket.Conn }

func dialRaw(ctx context.Context, url string) (echoConn, error) {
	c, resp, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	if err := c.SetReadDeadline(time.Now().Add(echoGuard)); err != nil {
		return nil, err
	}
	return rawConn{c}, nil
}

func (r rawConn) send(_ context.Context, data []byte) error {
	return r.c.WriteMessage(websocket.BinaryMessage, data)
}

func (r rawConn) recv(context.Context) ([]byte, error) {
	typ, data, err := r.c.ReadMessage()
	if err == nil && typ != websocket.BinaryMessage {
		err = fmt.Errorf("echo has message type %d", typ)
	}
	return data, err
}

func (r rawConn) close() error { return r.c.Close() }
