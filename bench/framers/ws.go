package framers

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsConn is a gorilla connection with a write lock (Send and the reader's heartbeat
// answers may write at once).
type wsConn struct {
	c  *websocket.Conn
	mu sync.Mutex
}

var wsDialer = &websocket.Dialer{HandshakeTimeout: 30 * time.Second}

func dialWS(ctx context.Context, url string, subprotocols ...string) (*wsConn, error) {
	d := *wsDialer
	d.Subprotocols = subprotocols
	c, resp, err := d.DialContext(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("failed to dial %s: %w", url, err)
	}
	return &wsConn{c: c}, nil
}

func (w *wsConn) write(typ int, b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.c.WriteMessage(typ, b)
}

// read returns the next message; ctx ending closes the connection to unblock it.
func (w *wsConn) read(ctx context.Context) ([]byte, error) {
	stop := context.AfterFunc(ctx, func() { _ = w.c.Close() })
	defer stop()
	_, b, err := w.c.ReadMessage()
	return b, err
}

func (w *wsConn) Close() error { return w.c.Close() }

// httpClient is shared by the HTTP framers: no limit on connections per host, many kept
// idle, so that every session gets its own connections as a browser would.
var httpClient = &http.Client{Transport: &http.Transport{
	MaxIdleConns:        0,
	MaxIdleConnsPerHost: 20000,
	IdleConnTimeout:     30 * time.Second,
	DisableCompression:  true,
}}
