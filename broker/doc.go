// Package broker carries published messages between the sessions that subscribed to a
// topic, on one node or across several.
//
// A Broker is the transport of pub/sub: server.Server subscribes to a topic once per
// node, when its first session subscribes, and fans each delivered Message out to its
// own subscribed sessions. NewMemory is the default: one process, no services. Package
// broker/redis carries topics between nodes over Redis pub/sub and also implements
// Router, which lets a node find the node that owns a session, so that a session's
// requests may reach any node behind a load balancer without sticky sessions.
//
// Ordering: a Broker delivers the messages of one topic to every Handler subscribed to it
// in one order, the order in which the broker took them; messages that one goroutine
// publishes one after another (each Publish having returned) are taken in that order.
// Messages published before Subscribe returned may or may not be delivered; every one
// published after is. When a broker may have dropped messages of a subscription (a lost
// connection), it calls Handler.Lost so that the loss is never silent.
package broker
