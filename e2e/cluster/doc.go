// Package cluster tests polysock on several processes: three nodes (./node) sharing a
// real redis-server, behind a round-robin proxy without stickiness, with Go clients on
// every transport chatting across them, and one node killed. It has tests only.
package cluster
