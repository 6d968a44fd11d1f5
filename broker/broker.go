package broker

import (
	"context"
	"errors"
	"net/url"

	"github.com/polysock/polysock"
)

// Message is one published message.
type Message struct {
	Topic string
	Type  polysock.MessageType // polysock.Text (valid UTF-8) or polysock.Binary
	Data  []byte
}

// Handler receives the messages of a subscription.
type Handler interface {
	// Deliver is called for each message of the topic, one call at a time and in the
	// topic's order (see the package doc). It must not block: it runs on the broker's
	// delivery path. The broker does not reuse m.Data, and the handler must not modify it
	// (other handlers of the topic on this node may get the same slice).
	Deliver(m Message)
	// Lost is called when messages of the topic may have been dropped since the last
	// delivery, for instance because the broker's connection to its backend was lost. The
	// subscription goes on afterwards (a broker resubscribes by itself).
	Lost(err error)
}

// Subscription is a Handler's registration for one topic.
type Subscription interface {
	// Unsubscribe ends the subscription: the handler gets no delivery that starts after
	// it returns, though one already under way may finish. It does not wait for a remote
	// backend's answer (a remote broker bounds the request it sends by its own write
	// timeout) and is safe to call more than once.
	Unsubscribe()
}

// Broker carries messages from publishers to the subscribers of a topic. Its methods are
// safe for concurrent use.
type Broker interface {
	// Publish sends m to every subscription of m.Topic (on every node). It returns once
	// the broker has taken the message (for a remote broker: once the backend has), so
	// that a goroutine's publications keep their order. ctx bounds the call only.
	Publish(ctx context.Context, m Message) error
	// Subscribe registers h for topic. When it returns without error, every message
	// published to topic afterwards is delivered to h (or reported lost through
	// h.Lost). ctx bounds the call only.
	Subscribe(ctx context.Context, topic string, h Handler) (Subscription, error)
}

// Router is implemented by brokers that know the nodes of a cluster, so that a node can
// pass a session's requests to the node that owns it.
type Router interface {
	// NodeID is this node's id: 1–32 characters from [A-Za-z0-9-], unique among the live
	// nodes. The server starts its session ids with it.
	NodeID() string
	// NodeURL returns the advertised base URL of the live node id (scheme and host; the
	// request's path is kept when a request is passed on), or an error wrapping
	// ErrUnknownNode when no live node has that id. ctx bounds the call.
	NodeURL(ctx context.Context, id string) (*url.URL, error)
}

// ErrUnknownNode is returned (wrapped) by Router.NodeURL for a node that is not
// registered: it never was, or it stopped refreshing its registration.
var ErrUnknownNode = errors.New("broker: unknown node")

// ValidNodeID reports whether id can be a node id: 1–32 characters from [A-Za-z0-9-].
func ValidNodeID(id string) bool {
	if len(id) == 0 || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
