package server

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/broker"
	"github.com/polysock/polysock/internal/wire"
)

// This file is pub/sub: the server subscribes to a topic on the broker once, when its
// first session subscribes, fans each delivered message out to its subscribed sessions
// through Session.Write, and unsubscribes when the last one leaves or ends.

// MaxTopicBytes bounds the length of a topic name.
const MaxTopicBytes = 256

// topicSubs is this server's subscription to one topic and its subscribed sessions.
type topicSubs struct {
	srv     *Server
	name    string
	members []*Session          // copied on change; guarded by srv.topicsMu
	sub     broker.Subscription // nil while the broker subscription is being made
	ready   chan struct{}       // closed once the broker subscription is made or failed
	err     error               // the failure, set before ready is closed
}

// Publish sends a message to every session subscribed to topic, on this node and, with a
// cluster broker (Options.Broker), on every node. It returns once the broker has taken
// the message; it never waits for sessions. Each subscribed session gets the message
// through Session.Write: a session whose outbox is full is closed with 4008 and the
// others go on. Messages that one goroutine publishes one after another reach every
// session in that order, and every session subscribed to a topic throughout sees the
// topic's messages in one same order. Only sessions whose Subscribe returned before
// Publish was called are sure to get the message. data is copied; text must be valid
// UTF-8.
func (srv *Server) Publish(ctx context.Context, topic string, typ polysock.MessageType, data []byte) error {
	if err := checkTopic(topic); err != nil {
		return fmt.Errorf("failed to publish: %w", err)
	}
	switch typ {
	case polysock.Text:
		if !utf8.Valid(data) {
			return errors.New("failed to publish: text message is not valid UTF-8")
		}
	case polysock.Binary:
	default:
		return fmt.Errorf("failed to publish: unknown message type %d", typ)
	}
	m := broker.Message{Topic: topic, Type: typ, Data: append([]byte(nil), data...)}
	if err := srv.broker.Publish(ctx, m); err != nil {
		return fmt.Errorf("failed to publish: %w", err)
	}
	return nil
}

func checkTopic(t string) error {
	if t == "" || len(t) > MaxTopicBytes {
		return fmt.Errorf("topic must be 1-%d bytes", MaxTopicBytes)
	}
	return nil
}

// Subscribe makes the session receive the messages published to topic from now on (see
// Server.Publish), until Unsubscribe or the end of the session: subscriptions end with
// the session. Subscribing twice is the same as once. ctx bounds the wait for the broker
// (a cluster broker subscribes over the network the first time a topic is used on this
// node; sessions subscribing to that topic meanwhile share the outcome of that first
// call). It fails with the session's *polysock.CloseError once the session has ended.
func (s *Session) Subscribe(ctx context.Context, topic string) error {
	if err := checkTopic(topic); err != nil {
		return fmt.Errorf("failed to subscribe: %w", err)
	}
	srv := s.srv
	srv.topicsMu.Lock()
	s.mu.Lock()
	ended := s.endErr
	s.mu.Unlock()
	if ended != nil {
		srv.topicsMu.Unlock()
		return ended
	}
	t := srv.topics[topic]
	create := t == nil
	if create {
		t = &topicSubs{srv: srv, name: topic, ready: make(chan struct{})}
		srv.topics[topic] = t
	}
	_, already := s.topics[topic]
	if !already {
		if s.topics == nil {
			s.topics = map[string]struct{}{}
		}
		s.topics[topic] = struct{}{}
		t.members = append(t.members[:len(t.members):len(t.members)], s)
	}
	srv.topicsMu.Unlock()
	if create {
		sub, err := srv.broker.Subscribe(ctx, topic, t)
		srv.topicsMu.Lock()
		t.sub, t.err = sub, err
		if err != nil {
			// Nobody is subscribed: every member that joined meanwhile fails too. (A
			// pending topic stays in srv.topics until here: leaveLocked keeps it.)
			delete(srv.topics, topic)
			for _, m := range t.members {
				delete(m.topics, topic)
			}
			t.members = nil
		}
		empty := err == nil && len(t.members) == 0 // all left while we subscribed
		if empty {
			delete(srv.topics, topic)
		}
		close(t.ready)
		srv.topicsMu.Unlock()
		if empty {
			sub.Unsubscribe()
		}
	} else {
		select {
		case <-t.ready:
		case <-ctx.Done():
			if !already {
				s.Unsubscribe(topic)
			}
			return fmt.Errorf("failed to subscribe: %w", ctx.Err())
		}
	}
	if t.err != nil {
		return fmt.Errorf("failed to subscribe: %w", t.err)
	}
	return nil
}

// Unsubscribe stops the messages of topic for the session; a message already on its way
// may still arrive. It waits for no answer, but when the session was the topic's last
// subscriber on this node, a cluster broker sends its UNSUBSCRIBE before it returns
// (bounded by that broker's own timeout, see broker.Subscription).
func (s *Session) Unsubscribe(topic string) {
	srv := s.srv
	srv.topicsMu.Lock()
	sub := srv.leaveLocked(s, topic)
	srv.topicsMu.Unlock()
	if sub != nil {
		sub.Unsubscribe()
	}
}

// leaveLocked removes s from topic and returns the broker subscription to end when s was
// its last member.
func (srv *Server) leaveLocked(s *Session, name string) broker.Subscription {
	if _, ok := s.topics[name]; !ok {
		return nil
	}
	delete(s.topics, name)
	t := srv.topics[name]
	if t == nil {
		return nil
	}
	members := make([]*Session, 0, len(t.members))
	for _, m := range t.members {
		if m != s {
			members = append(members, m)
		}
	}
	t.members = members
	if len(members) > 0 || t.sub == nil { // a pending subscription is ended by its creator
		return nil
	}
	delete(srv.topics, name)
	return t.sub
}

// leaveAll ends the subscriptions of a session that has ended.
func (srv *Server) leaveAll(s *Session) {
	srv.topicsMu.Lock()
	var subs []broker.Subscription
	for name := range s.topics {
		if sub := srv.leaveLocked(s, name); sub != nil {
			subs = append(subs, sub)
		}
	}
	srv.topicsMu.Unlock()
	for _, sub := range subs {
		sub.Unsubscribe()
	}
}

// Deliver writes a published message to the topic's members (broker.Handler), as
// Session.Write would. The members share m.Data, checked once: the broker never reuses
// it and nothing modifies it, so one message to many sessions is not copied for each.
func (t *topicSubs) Deliver(m broker.Message) {
	wt := wire.TypeBinary
	switch m.Type {
	case polysock.Text:
		if !utf8.Valid(m.Data) {
			return // not from Publish, which checks it: no session could take it
		}
		wt = wire.TypeText
	case polysock.Binary:
	default:
		return
	}
	t.srv.topicsMu.Lock()
	members := t.members
	t.srv.topicsMu.Unlock()
	for _, s := range members {
		if wt == wire.TypeBinary && s.textOnly {
			// A text-only (SockJS) session cannot take a binary message: rather than let
			// it miss one silently, it ends.
			s.fail(&polysock.CloseError{Code: polysock.CloseUnsupportedData, Reason: "binary message on a text-only session"})
			continue
		}
		// An error means that the session is closing or has ended (queue closed it with
		// 4008 when its outbox was full); the others go on.
		_ = s.queue(wt, m.Data)
	}
}

// Lost closes every member with 1011: messages of the topic may be missing, and a gap is
// never passed on silently. Messages already written are delivered before the CLOSE.
func (t *topicSubs) Lost(err error) {
	t.srv.cfg.log.Error("polysock: broker lost messages of a topic", "topic", t.name, "err", err)
	t.srv.topicsMu.Lock()
	members := t.members
	t.srv.topicsMu.Unlock()
	for _, s := range members {
		go s.closeWith(wire.CloseInternalError, lostReason)
	}
}

// lostReason is the reason of the 1011 close of sessions whose topic lost messages.
const lostReason = "pub/sub messages lost"
