package rrproxy

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// Proxy sends each request to the next of its backends. It is safe for concurrent use.
type Proxy struct {
	rp *httputil.ReverseProxy
	tr *http.Transport

	mu       sync.Mutex
	backends []*url.URL
	next     int
}

type backendKey struct{}

// New returns a Proxy over backends, base URLs such as "http://127.0.0.1:8081".
func New(backends ...string) (*Proxy, error) {
	p := &Proxy{tr: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}}
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("failed to parse backend %q", b)
		}
		p.backends = append(p.backends, u)
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(pr.In.Context().Value(backendKey{}).(*url.URL))
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport:     p.tr,
		FlushInterval: -1,
		ErrorLog:      log.New(discard{}, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "backend unavailable", http.StatusBadGateway)
		},
	}
	return p, nil
}

// ServeHTTP passes r to the next backend.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if len(p.backends) == 0 {
		p.mu.Unlock()
		http.Error(w, "no backend", http.StatusBadGateway)
		return
	}
	b := p.backends[p.next%len(p.backends)]
	p.next++
	p.mu.Unlock()
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), backendKey{}, b)))
}

// Remove takes a backend out of the rotation, as a load balancer's health check does
// when a node dies. Requests already passed to it go on until they fail.
func (p *Proxy) Remove(backend string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.backends[:0]
	for _, b := range p.backends {
		if b.String() != backend {
			kept = append(kept, b)
		}
	}
	p.backends = kept
}

// CloseIdleConnections closes the idle connections to the backends.
func (p *Proxy) CloseIdleConnections() { p.tr.CloseIdleConnections() }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
