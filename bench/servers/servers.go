package servers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/polysock/polysock/bench/loadgen"
)

// broadcaster is a server kind: its handler and its broadcast to every connection.
type broadcaster interface {
	handler() http.Handler
	// broadcast hands m to every connection it holds, in the order of calls.
	broadcast(m []byte)
	count() int
}

// Kinds lists the server kinds New accepts.
var Kinds = []string{"raw", "polysock", "sockjs", "centrifuge"}

// New returns the handler of the server kind (see the package doc) with /publish and
// /mem, and a function that stops what the kind runs besides its handler.
func New(kind string) (http.Handler, func(), error) {
	var b broadcaster
	stop := func() {}
	switch kind {
	case "raw":
		b = &rawKind{}
	case "polysock":
		b = newPolysock()
	case "sockjs":
		b = &sockjsKind{}
	case "centrifuge":
		c, err := newCentrifuge()
		if err != nil {
			return nil, nil, fmt.Errorf("failed to start centrifuge: %w", err)
		}
		b, stop = c, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = c.node.Shutdown(ctx)
		}
	default:
		return nil, nil, fmt.Errorf("unknown server kind %q", kind)
	}
	mux := http.NewServeMux()
	mux.Handle("/", b.handler())
	mux.HandleFunc("POST /publish", func(w http.ResponseWriter, r *http.Request) { publish(w, r, b) })
	mux.HandleFunc("GET /mem", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(memStats(b.count()))
	})
	return mux, stop, nil
}

func publish(w http.ResponseWriter, r *http.Request, b broadcaster) {
	n, err1 := strconv.Atoi(r.URL.Query().Get("n"))
	size, err2 := strconv.Atoi(r.URL.Query().Get("size"))
	if err1 != nil || err2 != nil || n < 0 || size < 0 {
		http.Error(w, "bad n or size", http.StatusBadRequest)
		return
	}
	for seq := range n {
		b.broadcast(loadgen.Append(nil, loadgen.PublishID, uint64(seq), time.Now().UnixNano(), size))
	}
	fmt.Fprintf(w, "published %d to %d\n", n, b.count())
}

// Mem is the answer of GET /mem, taken after runtime.GC and debug.FreeOSMemory; bytes.
type Mem struct {
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	RSS        uint64 `json:"rss"` // VmRSS of the process
	Goroutines int    `json:"goroutines"`
	Sessions   int    `json:"sessions"` // connections the server holds
}

func memStats(sessions int) Mem {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return Mem{HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, RSS: vmRSS(),
		Goroutines: runtime.NumGoroutine(), Sessions: sessions}
}

func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
