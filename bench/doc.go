// Package bench holds polysock's end-to-end measurements: the WebSocket echo throughput
// of polysock (server + Go client) beside a raw gorilla/websocket echo server and client
// (BenchmarkEcho), and the echo handlers that the memory measurement
// (bench/cmd/memserver, bench/cmd/memdriver) serves. bench/cmd/echocompare runs the echo
// benchmark in interleaved rounds and prints the polysock/raw ratio.
//
// Everything here is a benchmark, never a test: `make bench` runs it, `make test` does
// not (the package has no Test functions). Results and the commands that produced them
// are in docs/BENCHMARKS.md. Traffic goes to 127.0.0.1 only and every run is bounded in
// count and time.
package bench
