package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// PublishID is the id of the messages a server broadcasts (Append's id).
const PublishID = "P"

// Publish asks the server at base to broadcast count messages of size bytes to every
// connection it holds (POST base/publish?n=count&size=size, see bench/cmd/benchserver and
// bench/socketio/server.mjs); each message is made by Append with id PublishID, sequence
// numbers 0…count−1 and the server's clock at the time it was broadcast. The server answers
// once every message has been handed to every connection.
func Publish(ctx context.Context, base string, count, size int) error {
	u := base + "/publish?n=" + strconv.Itoa(count) + "&size=" + strconv.Itoa(size)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return fmt.Errorf("failed to publish: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("failed to publish: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("failed to publish: %s: %s", resp.Status, body)
	}
	return nil
}

// Mem is a server's GET /mem answer (bench/servers.Mem; the socket.io server reports V8's
// heapUsed as heap_inuse and no stack), in bytes, taken after a garbage collection.
type Mem struct {
	HeapInuse  float64 `json:"heap_inuse"`
	StackInuse float64 `json:"stack_inuse"`
	RSS        float64 `json:"rss"`
	Sessions   int     `json:"sessions"` // connections the server holds
}

// ServerMem reads GET base/mem.
func ServerMem(ctx context.Context, base string) (Mem, error) {
	var m Mem
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/mem", nil)
	if err != nil {
		return m, fmt.Errorf("failed to read the server's memory: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return m, fmt.Errorf("failed to read the server's memory: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return m, fmt.Errorf("failed to read the server's memory: %w", err)
	}
	return m, nil
}

// AwaitSessions polls GET base/mem until the server counts at least n sessions and
// returns that reading. A server registers a connection for its broadcast only after the
// handshake that ends the client's Dial, so a publish sent right after the dials could
// miss the last subscribers; Fanout's callers wait here first. It fails after timeout.
func AwaitSessions(ctx context.Context, base string, n int, timeout time.Duration) (Mem, error) {
	deadline := time.Now().Add(timeout)
	for {
		m, err := ServerMem(ctx, base)
		if err != nil || m.Sessions >= n {
			return m, err
		}
		if time.Now().After(deadline) {
			return m, fmt.Errorf("the server counts %d sessions after %v, expected %d", m.Sessions, timeout, n)
		}
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Fanout measures delivery of count broadcast messages of size bytes to every connection
// of conns: it starts one receiver per connection, then calls publish, and waits until
// every connection has received and verified all count messages (id PublishID, sequence
// numbers in order, content), or ctx ends. Latency is the time from the server's broadcast
// of a message to its verified delivery; Elapsed runs from the call of publish to the
// last delivery; Msgs = len(conns) × count.
func Fanout(ctx context.Context, conns []Conn, count, size int, publish func(context.Context) error) (Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hists := make([]*hdrhistogram.Histogram, len(conns))
	errs := make([]error, len(conns)+1)
	ends := make([]time.Time, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		hists[i] = NewHistogram()
		wg.Add(1)
		go func() {
			defer wg.Done()
			check := Checker{ID: PublishID, Size: size}
			for check.Next < uint64(count) {
				b, err := c.Recv(ctx)
				if err != nil {
					errs[i] = fmt.Errorf("subscriber %d: failed to receive message %d: %w", i, check.Next, err)
					cancel()
					return
				}
				m, err := check.Check(b)
				if err != nil {
					errs[i] = fmt.Errorf("subscriber %d: %w", i, err)
					cancel()
					return
				}
				_ = hists[i].RecordValue(micros(time.Duration(time.Now().UnixNano() - m.Sent)))
			}
			ends[i] = time.Now()
		}()
	}
	stop := closeOnDone(ctx, conns)
	start := time.Now()
	if err := publish(ctx); err != nil {
		errs[len(conns)] = err
		cancel()
	}
	wg.Wait()
	stop()
	res := Result{Latency: NewHistogram()}
	for _, err := range errs {
		if err != nil {
			return res, err
		}
	}
	last := start
	for i := range conns {
		if ends[i].After(last) {
			last = ends[i]
		}
		res.Latency.Merge(hists[i])
	}
	res.Elapsed = last.Sub(start)
	res.Msgs = int64(len(conns)) * int64(count)
	return res, ctx.Err()
}
