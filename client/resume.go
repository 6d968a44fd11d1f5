package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/internal/wire"
)

// This file resumes a session on a new carrier after the current one was lost
// (PROTOCOL.md sections 6 to 8): the reader drops the lost carrier, dials a new one with
// ps_sid, ps_tok and ps_ack under exponential backoff with full jitter, learns from it
// what the server accepted, rewinds the replay buffer and installs it; the writer then
// sends every unacknowledged message again, and the server replays what we have not
// accepted. Duplicates are dropped on both sides by sequence number.

// stableAfter is how long a carrier must live for its loss to be retried at once, without
// the backoff that follows carriers dying young.
const stableAfter = time.Second

// switchAfter is how many attempts in a row may fail on one transport before the next
// attempts use the next transport of Options.Transports.
const switchAfter = 2

// carrierLost reports whether err, which ended a carrier, leaves the session resumable:
// a network error, silence, our own close of the carrier, or a close the server made at
// the carrier level (PROTOCOL.md section 8.1: 1000 or 1001 without a CLOSE exchange,
// 1005, 1006, and 4005 on a carrier we still use). Any other close code (4004, 4006,
// 4008, 1002, 1012...) ends the session.
func carrierLost(err error) bool {
	var pe *protocolError
	if errors.As(err, &pe) {
		return false
	}
	ce := closeOf(err)
	if ce == nil {
		return true
	}
	switch ce.Code {
	case polysock.CloseNormal, polysock.CloseGoingAway, polysock.CloseNoStatus,
		polysock.CloseAbnormal, polysock.CloseReplaced:
		return true
	}
	return false
}

// backoff is the wait before attempt k+1 (k ≥ 1 attempts made): a random duration in
// [0, min(max, min·2^(k-1))], "full jitter".
func (cfg *config) backoff(k int) time.Duration {
	ceil := cfg.reconnectMax
	if k-1 < 32 {
		if d := cfg.reconnectMin << (k - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	return rand.N(ceil + 1)
}

// reconnect resumes the session after its carrier was lost with cause. It reports false
// when the session ended instead (it was closed meanwhile, the server refused the resume,
// or every attempt failed), having ended it.
func (c *Conn) reconnect(cause error) bool {
	c.mu.Lock()
	old, from := c.car, c.transport
	c.car = nil
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	if old != nil {
		old.close(wire.CloseReplaced, "resuming on a new connection")
	}
	c.log.Debug("polysock: carrier lost", "transport", from, "err", cause)
	c.wsLost(from, c.installedAt)
	start := from // the transport of the first attempt
	c.mu.Lock()
	upFrom := c.upFrom
	c.upFrom = ""
	c.mu.Unlock()
	if p := c.takeProbe(); p != nil {
		// The upgrader opened a WebSocket, which replaced the lost carrier.
		if c.install(p.car, p.fr, p.ack, from) {
			c.mu.Lock()
			c.upFrom = from
			c.mu.Unlock()
			return true
		}
		return false
	}
	if upFrom != "" && time.Since(c.installedAt) < earlyDeath {
		// A WebSocket we upgraded to died young: go back to where it came from.
		start = upFrom
	}

	// A carrier that died young counts as a failed attempt for the backoff, so that a
	// connection that opens and dies at once is not retried in a tight loop.
	if time.Since(c.installedAt) < stableAfter {
		c.quickLosses++
	} else {
		c.quickLosses = 0
	}
	lastErr, fails, cur := cause, 0, ""
	for attempt := 1; attempt <= c.cfg.reconnects; attempt++ {
		if k := attempt - 1 + c.quickLosses; k > 0 {
			t := time.NewTimer(c.cfg.backoff(k))
			select {
			case <-t.C:
			case <-c.done:
				t.Stop()
				return false
			}
		}
		t := c.pickTransport(start, cur, fails)
		if t != cur {
			if cur != "" {
				c.giveUpWant(cur)
			}
			cur, fails = t, 0
		}
		car, fr, ack, err := c.dialResume(t)
		if err == nil {
			return c.install(car, fr, ack, from)
		}
		select {
		case <-c.done:
			return false
		default:
		}
		c.log.Debug("polysock: resume attempt failed", "transport", t, "attempt", attempt, "err", err)
		if !carrierLost(err) {
			// The server's answer: the session is gone (4004), or the server refuses it.
			var pe *protocolError
			if errors.As(err, &pe) {
				c.end(&polysock.CloseError{Code: int(pe.code), Reason: pe.reason})
			} else {
				c.end(carrierEnd(err))
			}
			return false
		}
		lastErr = err
		fails++
	}
	c.end(&polysock.CloseError{Code: polysock.CloseAbnormal,
		Reason: truncateReason(fmt.Sprintf("failed to resume after %d attempts: %v", c.cfg.reconnects, lastErr))})
	return false
}

// pickTransport chooses the transport of the next attempt: first the one SwitchTransport
// asked for, else from (the lost carrier's, or the one a young WebSocket upgraded from); after switchAfter failures in a row on cur,
// the transport after cur in Options.Transports.
func (c *Conn) pickTransport(from, cur string, fails int) string {
	if cur == "" {
		c.mu.Lock()
		want := c.want
		c.mu.Unlock()
		if want != "" {
			return want
		}
		return from
	}
	if fails < switchAfter {
		return cur
	}
	list := c.cfg.transports
	for i, t := range list {
		if t == cur {
			return list[(i+1)%len(list)]
		}
	}
	return list[0]
}

// giveUpWant forgets the transport SwitchTransport asked for when it is t, which failed
// repeatedly: SwitchTransport then reports the fallback.
func (c *Conn) giveUpWant(t string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.want == t {
		c.want = ""
	}
}

// dialResume opens a carrier of transport t that continues the session and returns it
// with its frame reader and the server's accepted count. WebSocket and stream carriers
// begin with a resumed OPEN, which brings the count. A resumed poll has no OPEN
// (PROTOCOL.md section 5): an empty POST asks the server for its ACK first (section 8.4),
// which also confirms that the session still exists before polling starts.
func (c *Conn) dialResume(t string) (carrier, *frameReader, uint64, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.attemptTimeout)
	defer cancel()
	p := carrierParams{sid: c.sess.id, token: c.sess.token, ack: c.sess.acceptedCount()}
	if t == wire.TransportPoll {
		pc, ack, err := dialPollResume(ctx, c.e, c.sess, c.cfg)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("failed to resume on poll: %w", err)
		}
		return pc, newFrameReader(pc, c.cfg.maxMessage), ack, nil
	}
	car, err := dialers[t](ctx, c.e, p, c.cfg)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("failed to resume on %s: %w", t, err)
	}
	if b, ok := car.(binder); ok {
		b.bind(c.sess)
	}
	stop := context.AfterFunc(ctx, func() { car.close(wire.CloseGoingAway, "resume cancelled") })
	fr := newFrameReader(car, c.cfg.maxMessage)
	o, err := readResumedOpen(fr, t, c.sess.id)
	if !stop() {
		car.close(wire.CloseGoingAway, "resume cancelled")
		return nil, nil, 0, fmt.Errorf("failed to resume on %s: %w", t, ctx.Err())
	}
	if err != nil {
		car.close(wire.CloseGoingAway, "")
		return nil, nil, 0, fmt.Errorf("failed to resume on %s: %w", t, err)
	}
	return car, fr, o.Ack, nil
}

// readResumedOpen reads the OPEN that begins a carrier continuing session sid. A CLOSE
// instead, or a WebSocket closed with a code, is the server's refusal.
func readResumedOpen(fr *frameReader, transport, sid string) (*wire.Open, error) {
	body, err := openBody(fr, "resumed carrier")
	if err != nil {
		return nil, err
	}
	o, err := wire.DecodeOpen(body)
	switch {
	case err != nil:
		return nil, protoErr(wire.CloseProtocolError, "invalid OPEN: %v", err)
	case o.Session != sid || !o.Resumed:
		return nil, protoErr(wire.CloseProtocolError, "OPEN does not continue the session")
	case o.Transport != transport:
		return nil, protoErr(wire.CloseProtocolError, "OPEN names transport %q on a %s carrier", o.Transport, transport)
	}
	return &o, nil
}

// install makes car the session's carrier after the server reported accepting ack
// messages, rewinding the replay buffer first. It reports false when the session ended
// meanwhile.
func (c *Conn) install(car carrier, fr *frameReader, ack uint64, from string) bool {
	gen, err := c.sess.resume(ack)
	if err != nil {
		car.close(wire.CloseProtocolError, "")
		var pe *protocolError
		errors.As(err, &pe)
		c.end(&polysock.CloseError{Code: int(pe.code), Reason: pe.reason})
		return false
	}
	car.setIdle(c.sess.idle)
	to := car.transport()
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		car.close(wire.CloseNormal, "")
		return false
	default:
	}
	c.car, c.gen, c.fr, c.transport = car, gen, fr, to
	if c.want == to {
		c.want = ""
	}
	c.resumes++
	c.installedAt = time.Now()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	c.nudge()
	c.log.Debug("polysock: session resumed", "transport", to, "ack", ack)
	if to != from && c.cfg.onTransport != nil {
		c.cfg.onTransport(from, to)
	}
	return true
}

// SwitchTransport moves the live session onto a new carrier of transport name
// ("websocket", "stream" or "poll", whether or not Options.Transports lists it): it drops
// the current carrier and resumes the session on name, with nothing lost, repeated or
// reordered. It returns once the session runs on the new carrier, with an error when ctx
// is done first (the switch goes on), when the session ended, or when the resume had to
// fall back to another transport after repeated failures (the session goes on there).
// Options.OnTransportChange reports the change.
func (c *Conn) SwitchTransport(ctx context.Context, name string) error {
	if _, ok := dialers[name]; !ok {
		return fmt.Errorf("failed to switch transport: unknown transport %q", name)
	}
	if c.cfg.reconnects < 0 {
		return errors.New("failed to switch transport: resuming is disabled (Options.ReconnectAttempts < 0)")
	}
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return fmt.Errorf("failed to switch transport: %w", c.err)
	default:
	}
	c.want = name
	car, gen := c.car, c.gen
	c.mu.Unlock()
	if car != nil {
		car.close(wire.CloseReplaced, "switching to "+name)
	}
	for {
		c.mu.Lock()
		cur, g, changed, pending := c.car, c.gen, c.changed, c.want == name
		c.mu.Unlock()
		if cur != nil && g != gen {
			t := cur.transport()
			switch {
			case t == name:
				return nil
			case pending:
				// A resume that was already under way when we asked installed this
				// carrier: drop it too.
				gen = g
				cur.close(wire.CloseReplaced, "switching to "+name)
				continue
			}
			return fmt.Errorf("failed to switch transport: the session resumed on %s instead of %s", t, name)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("failed to switch transport: %w", ctx.Err())
		case <-c.done:
			return fmt.Errorf("failed to switch transport: %w", c.err)
		}
	}
}
