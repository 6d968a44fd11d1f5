// Command benchserver serves one echo server of the comparative benchmarks
// (bench/cmd/benchrun) in its own process, so that its memory and CPU are apart from the
// load generator's. The kinds, their paths and the /publish and /mem endpoints are those
// of package bench/servers.
//
// Usage:
//
//	benchserver -kind raw|polysock|sockjs|centrifuge [-addr 127.0.0.1:0]
//
// The first line on stdout is "listening on http://127.0.0.1:<port>". It runs until
// killed.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/polysock/polysock/bench/servers"
)

func main() {
	kind := flag.String("kind", "raw", "server kind: raw, polysock, sockjs or centrifuge")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	h, _, err := servers.New(*kind)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	log.Fatal(hs.Serve(ln))
}
