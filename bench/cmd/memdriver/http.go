package main

// The HTTP transports' sessions (modes stream and poll): each one is opened on its own
// TCP connection with a hand-written HTTP/1.1 request, so that the driver holds no
// net/http client state, and is left holding a request the server keeps open:
//
//   - stream: GET ps_t=stream&ps_e=bin, read up to OPEN (after the PAD prelude), then
//     nothing more is read; the response stays open.
//   - poll: GET ps_t=poll&ps_e=bin opens the session (answered with OPEN at once), then
//     a poll with ps_sid, ps_tok and ps_ack is sent on the same connection. The server
//     holds it (memserver runs with -pollhold 10m); a goroutine per session re-issues the
//     poll after each answer, with the ack of what it carried, as a client does.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/polysock/polysock/internal/wire"
)

// modeNoun names a mode's session in the target line.
var modeNoun = map[string]string{
	"polysock": "idle polysock WebSocket session",
	"stream":   "polysock session holding a stream",
	"poll":     "polysock session holding a poll",
}

// openAll opens cfg.n sessions of mode (stream or poll) on host, cfg.concurrency at a
// time, spread over cfg.sources loopback source addresses, and returns their connections.
func openAll(ctx context.Context, cfg *config, host, mode string) ([]io.Closer, error) {
	return parallel(ctx, cfg, func(i int) (io.Closer, error) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%cfg.sources))}, Timeout: 10 * time.Second}
		return openHTTP(ctx, d, host, mode)
	})
}

// openHTTP opens one session of mode and leaves its request held.
func openHTTP(ctx context.Context, d *net.Dialer, host, mode string) (net.Conn, error) {
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("failed to dial: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = nc.Close()
		}
	}()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	q := url.Values{wire.ParamVersion: {"1"}, wire.ParamTransport: {mode}, wire.ParamEncoding: {"bin"}}
	if err := writeGet(nc, host, q); err != nil {
		return nil, err
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET answered %s", resp.Status)
	}
	open, err := readOpen(resp.Body)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	ok = true
	if mode == wire.TransportStream {
		return nc, nil // the response stays open, unread after OPEN
	}
	_ = resp.Body.Close()
	q.Set(wire.ParamSession, open.Session)
	q.Set(wire.ParamToken, open.Token)
	q.Set(wire.ParamAck, "0")
	if err := writeGet(nc, host, q); err != nil {
		ok = false
		return nil, err
	}
	go repoll(nc, br, host, q)
	return nc, nil
}

// repoll reads the answers of the session's polls and sends the next poll after each,
// with the ack of the data received, until the connection ends or a CLOSE arrives.
func repoll(nc net.Conn, br *bufio.Reader, host string, q url.Values) {
	var ack uint64
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return // the driver closed the connection
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return
		}
		closed := false
		_ = wire.DecodeBatch(body, func(f *wire.Frame) error {
			if f.Type.IsData() && f.Seq > ack {
				ack = f.Seq
			}
			closed = closed || f.Type == wire.TypeClose
			return nil
		})
		if closed {
			return
		}
		q.Set(wire.ParamAck, strconv.FormatUint(ack, 10))
		if writeGet(nc, host, q) != nil {
			return
		}
	}
}

func writeGet(nc net.Conn, host string, q url.Values) error {
	_, err := fmt.Fprintf(nc, "GET /ws?%s HTTP/1.1\r\nHost: %s\r\n\r\n", q.Encode(), host)
	if err != nil {
		return fmt.Errorf("failed to send GET: %w", err)
	}
	return nil
}

// readOpen reads binary frames from body up to OPEN (skipping the stream's PAD prelude).
func readOpen(body io.Reader) (wire.Open, error) {
	var buf []byte
	chunk := make([]byte, 4096)
	for {
		for {
			f, n, err := wire.DecodeBinary(buf)
			if errors.Is(err, wire.ErrTruncated) {
				break
			}
			if err != nil {
				return wire.Open{}, fmt.Errorf("failed to decode a frame: %w", err)
			}
			if f.Type == wire.TypeOpen {
				return wire.DecodeOpen(f.Data)
			}
			if f.Type != wire.TypePad {
				return wire.Open{}, fmt.Errorf("frame %v before OPEN", f.Type)
			}
			buf = buf[n:]
		}
		n, err := body.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if err != nil && n == 0 {
			return wire.Open{}, fmt.Errorf("no OPEN: %w", err)
		}
	}
}

// countHeld counts the server's goroutines in Server.hold: the stream and poll requests
// it holds open (from the goroutine profile, debug=1 form: "N @ …" then the frames).
func countHeld(ctx context.Context, base string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/pprof/goroutine?debug=1", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("failed to read the goroutine profile: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("failed to read the goroutine profile: %w", err)
	}
	held := 0
	for _, rec := range bytes.Split(body, []byte("\n\n")) {
		if !bytes.Contains(rec, []byte("server.(*Server).hold+")) {
			continue
		}
		count, _, _ := strings.Cut(string(rec), " @ ")
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if err != nil {
			return 0, fmt.Errorf("unexpected goroutine profile record %q", rec[:min(len(rec), 80)])
		}
		held += n
	}
	return held, nil
}
