package client

import (
	"slices"
	"time"

	"github.com/polysock/polysock/internal/wire"
)

// This file upgrades a session that runs on stream or poll to WebSocket in the
// background, and gives up on WebSocket for a while when it keeps dying (like the JS
// client's probe): the upgrader goroutine resumes the session on a WebSocket carrier
// while the current carrier stays live. A probe refused before the server attached it
// leaves the current carrier untouched. Once the WebSocket's resumed OPEN has arrived
// (the server attached it, which replaced the current carrier), the upgrader hands it to
// the reader and closes the current carrier; the reader then installs the WebSocket as
// after any resume (resume.go), so nothing is lost, repeated or reordered.

const (
	// upgradeFirst is the wait before the first probe after a carrier that is not a
	// WebSocket was installed; failed probes double it up to upgradeMax.
	upgradeFirst = time.Second
	upgradeMax   = 60 * time.Second
	// earlyDeath is how long a WebSocket must live after its OPEN for its loss not to
	// count as an early death; a probe that fails counts as one too.
	earlyDeath = 10 * time.Second
	// earlyDeaths in a row stop probing for Options.UpgradeHold.
	earlyDeaths = 2
)

// probed is a WebSocket carrier that the upgrader opened and the reader installs.
type probed struct {
	car carrier
	fr  *frameReader
	ack uint64
}

// upgrades reports whether the session probes WebSocket in the background.
func (cfg *config) upgrades() bool {
	return cfg.upgradeHold >= 0 && cfg.reconnects >= 0 && slices.Contains(cfg.transports, wire.TransportWebSocket)
}

// earlyDeathLocked records a WebSocket that failed or died within earlyDeath of its
// OPEN; after earlyDeaths in a row, probing stops for Options.UpgradeHold. c.mu is held.
func (c *Conn) earlyDeathLocked() {
	c.deaths++
	if c.deaths >= earlyDeaths {
		c.deaths = 0
		c.holdUntil = time.Now().Add(c.cfg.upgradeHold)
		c.holds++
		c.holdProbes = c.probes
		c.log.Debug("polysock: websocket keeps dying, staying off it", "hold", c.cfg.upgradeHold)
	}
}

// wsLost is called by the reader when a carrier of transport from, installed at
// installedAt, was lost: a WebSocket lost early counts as an early death, one that lived
// long resets the count.
func (c *Conn) wsLost(from string, installedAt time.Time) {
	if from != wire.TransportWebSocket || !c.cfg.upgrades() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.want != "" {
		return // SwitchTransport dropped it
	}
	if time.Since(installedAt) < earlyDeath {
		c.earlyDeathLocked()
	} else {
		c.deaths = 0
	}
}

// takeProbe returns the WebSocket the upgrader opened, if any, waiting first for a probe
// under way (bounded by Options.AttemptTimeout), so that the reader does not resume on
// another carrier that would replace it.
func (c *Conn) takeProbe() *probed {
	for {
		c.mu.Lock()
		p, busy := c.probe, c.probeBusy
		c.probe = nil
		c.mu.Unlock()
		if p != nil || busy == nil {
			return p
		}
		select {
		case <-busy:
		case <-c.done:
			return nil
		}
	}
}

// upgradeLoop is the upgrader goroutine: while the session runs on another transport
// than WebSocket it probes WebSocket, with backoff between failed probes.
func (c *Conn) upgradeLoop() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	fails := 0
	var lastHold time.Time
	for {
		c.mu.Lock()
		car, changed, want, hold := c.car, c.changed, c.want, c.holdUntil
		c.mu.Unlock()
		if car == nil || car.transport() == wire.TransportWebSocket || want != "" {
			// Resuming, already on WebSocket, or SwitchTransport at work.
			select {
			case <-changed:
				continue
			case <-c.done:
				return
			}
		}
		if !hold.Equal(lastHold) {
			// A hold began: after it, the backoff starts over.
			lastHold, fails = hold, 0
		}
		wait := max(min(upgradeMax, upgradeFirst<<min(fails, 16)), time.Until(hold))
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-changed:
			timer.Stop()
			continue
		case <-c.done:
			timer.Stop()
			return
		}
		if !c.probeOnce(car) {
			fails++
		} else {
			fails = 0
		}
	}
}

// probeOnce resumes the session on a WebSocket while old is the current carrier and,
// when that works, hands it to the reader and closes old. It reports whether it did.
func (c *Conn) probeOnce(old carrier) bool {
	busy := make(chan struct{})
	c.mu.Lock()
	if c.car != old || c.want != "" {
		c.mu.Unlock()
		return true // things changed meanwhile; look again
	}
	c.probeBusy = busy
	c.probes++
	c.mu.Unlock()
	c.log.Debug("polysock: probing websocket", "transport", old.transport())
	car, fr, ack, err := c.dialResume(wire.TransportWebSocket)
	c.mu.Lock()
	c.probeBusy = nil
	close(busy)
	if err != nil {
		c.earlyDeathLocked()
		c.mu.Unlock()
		c.log.Debug("polysock: websocket probe failed", "err", err)
		return false
	}
	select {
	case <-c.done:
		c.mu.Unlock()
		car.close(wire.CloseNormal, "")
		return true
	default:
	}
	c.probe = &probed{car: car, fr: fr, ack: ack}
	cur := c.car
	c.mu.Unlock()
	// The server attached the WebSocket, which replaced the current carrier: drop it so
	// that the reader installs the WebSocket.
	if cur != nil {
		cur.close(wire.CloseReplaced, "upgrading to websocket")
	}
	return true
}
