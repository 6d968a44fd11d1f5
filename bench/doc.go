// Package bench holds polysock's end-to-end measurements: the WebSocket echo throughput
// of polysock (server + Go client) beside a raw gorilla/websocket echo server and client
// (BenchmarkEcho), and the echo handlers that the memory measurement
// (bench/cmd/memserver, bench/cmd/memdriver) serves.
//
// The comparison against the field is bench/cmd/benchrun: one load generator
// (bench/loadgen) with pluggable framers (bench/framers) drives raw gorilla/websocket,
// polysock on each transport, igm/sockjs-go, socket.io on Node and centrifuge, each
// server (bench/servers, bench/cmd/benchserver, bench/socketio) in its own process, in
// interleaved rounds, and prints the ratio tables of docs/BENCHMARKS.md.
//
// The HTTP transports: BenchmarkTransportEcho (echo throughput and p50/p99 round trip per
// transport), BenchmarkTransportPush (server push rate per transport) and
// BenchmarkRoundTrip (long-poll round trips beside a hello-world handler under the same
// load generator). bench/cmd/httpcompare runs them in rounds with the server package's
// transport benchmarks and wrk, and prints the ratios; memdriver -modes stream,poll
// measures the memory of sessions holding a stream or a poll.
//
// Everything here is a benchmark, never a test: `make bench` runs it, `make test` does
// not (this package has no Test functions; the harness's own tests are in bench/framers
// and bench/loadgen). Results and the commands that produced them
// are in docs/BENCHMARKS.md. Traffic goes to 127.0.0.1 only and every run is bounded in
// count and time.
package bench
