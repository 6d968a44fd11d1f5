// Package redis is a cluster broker for polysock on Redis (github.com/redis/go-redis/v9):
// topics fan out between nodes over Redis pub/sub, and each node registers its id and
// advertised URL so that any node can pass a session's requests to the node that owns
// it. With it, several polysock servers run behind any load balancer without sticky
// sessions: set server.Options.Broker to the *Broker of each node.
//
// Ownership: a session lives on the node that opened it, and its id starts with that
// node's id ("<node>_<random>"). A node that gets a request for another node's session
// looks the owner up here and passes the request on (package server). Every node must
// reach the others at their advertised URLs.
//
// Delivery: Redis pub/sub is at most once. Messages published while a node's subscriber
// connection is down are lost for that node, so the broker reports every broken
// subscriber connection to its handlers (broker.Handler.Lost): the server then closes
// the affected sessions with 1011, and no gap is passed on silently. The broker
// reconnects and resubscribes by itself.
//
// docs/SCALING.md describes node ids, ownership and what happens when a node dies.
package redis
