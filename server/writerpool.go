package server

import (
	"sync"
	"time"
)

// Writer goroutines are kept for reuse. A session's writer exits when the session has
// nothing more to send (an idle session holds none), so a ping-pong session needs a new
// one for every message; started afresh, each began on a small stack that the write path
// (gorilla, the deadline, the syscall) grew and copied every time. A writer that runs out
// of work therefore parks in its server's pool of idle writers, where the next kick of
// any session finds it with its stack already grown.

// maxIdleWriters bounds the idle writers a server keeps; a writer that finds the pool
// full exits. Writers run one session at a time, so a handful cover the sessions that
// are written to at the same moment on a few CPUs.
const maxIdleWriters = 16

// writerLinger is how long an idle writer waits for work before it exits, so that a
// server that falls quiet (or is dropped without Shutdown) keeps no goroutine.
const writerLinger = time.Second

// writerPool is a server's stack of idle writer goroutines, the most recently parked
// on top.
type writerPool struct {
	mu     sync.Mutex
	idle   []*idleWriter
	closed bool // Shutdown: no writer parks any more
}

// idleWriter is one parked writer goroutine; work (capacity 1) hands it its next session.
// A nil session, or work closed, makes it exit.
type idleWriter struct {
	work  chan *Session
	timer *time.Timer
}

// run makes a writer goroutine run s.writeLoop: a parked one when there is one, else a
// new one. It never blocks; s.mu may be held (p.mu is taken under it, never the reverse).
func (p *writerPool) run(s *Session) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.work <- s // w is idle: its channel is empty
		return
	}
	p.mu.Unlock()
	go p.writer(s)
}

// writer runs sessions' write loops, parking in between, until it lingered idle for
// writerLinger, found the pool full or the pool closed.
func (p *writerPool) writer(s *Session) {
	var w *idleWriter
	for {
		s.writeLoop()
		if w == nil {
			w = &idleWriter{work: make(chan *Session, 1)}
		}
		if !p.park(w) {
			return
		}
		if w.timer == nil {
			w.timer = time.NewTimer(writerLinger)
		} else {
			w.timer.Reset(writerLinger)
		}
		select {
		case s = <-w.work:
			w.timer.Stop()
		case <-w.timer.C:
			if !p.unpark(w) { // a session was handed over meanwhile
				s = <-w.work
			} else {
				return
			}
		}
		if s == nil {
			return
		}
	}
}

// park puts w on the idle stack unless the pool is full or closed.
func (p *writerPool) park(w *idleWriter) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle) >= maxIdleWriters {
		return false
	}
	p.idle = append(p.idle, w)
	return true
}

// unpark takes w off the idle stack and reports whether it was still there (no session
// was handed to it).
func (p *writerPool) unpark(w *idleWriter) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.idle {
		if x == w {
			n := len(p.idle) - 1
			copy(p.idle[i:], p.idle[i+1:])
			p.idle[n] = nil
			p.idle = p.idle[:n]
			return true
		}
	}
	return false
}

// close makes every idle writer exit and keeps writers from parking from now on.
func (p *writerPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, w := range p.idle {
		w.work <- nil
	}
	clear(p.idle)
	p.idle = nil
}
