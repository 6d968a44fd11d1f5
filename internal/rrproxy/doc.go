// Package rrproxy is a round-robin HTTP reverse proxy without stickiness: each request,
// and each WebSocket connection, goes to the next backend in turn, whatever session it
// belongs to. The cluster tests put it in front of several polysock nodes, and the demo
// runs it for `make demo-cluster`; it stands for "any load balancer".
package rrproxy
