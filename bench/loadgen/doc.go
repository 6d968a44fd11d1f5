// Package loadgen is the load generator core of polysock's comparative benchmarks
// (bench/cmd/benchrun): one client code path that drives every server under test through
// a pluggable Framer (package bench/framers), so that differences come from the servers
// and their wire protocols, not from different load generators.
//
// It provides the message format (Append, Parse, Checker: every message carries its
// connection id, a sequence number and a send time, and its filler is derived from the
// sequence number, so that count, order and content are verified on every delivery), the
// closed-loop driver (ClosedLoop: each connection sends a burst and waits for its echoes),
// the open-loop driver (OpenLoop: a fixed total rate, latencies recorded in HDR histograms
// corrected for coordinated omission), fan-out and push delivery (Fanout), and session
// opening (OpenSessions, the connect storm). Latencies are in microseconds.
//
// Every driver is bounded by its context and its duration; on an integrity failure it
// returns an error saying which connection, which sequence number and what was wrong.
package loadgen
