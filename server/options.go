package server

import (
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/polysock/polysock/broker"
)

// Options configures a Server. A nil *Options, and every zero field, means the default
// documented on the field.
type Options struct {
	// AllowedOrigins lists the browser origins allowed besides the endpoint's own host,
	// as "scheme://host[:port]". The host may hold the wildcards * (any run of
	// characters, dots included) and ? (one character), as in "https://*.example.com",
	// which allows every subdomain of example.com on the default port but not
	// example.com itself; an IPv6 literal ("http://[::1]:8080") is matched exactly. Zero
	// means same-origin only. Requests without an Origin header (programs rather than
	// browsers) are allowed, except, on the polysock endpoint, a browser request marked
	// Sec-Fetch-Site "cross-site" or "same-site" (a no-cors request such as an <img> tag
	// or a form, whose origin cannot be checked): 403 / 1008, PROTOCOL.md 8.5. The same
	// policy covers WebSocket upgrades and CORS.
	AllowedOrigins []string
	// InsecureSkipOriginCheck allows every origin. Any web page can then open sessions
	// with the user's cookies (cross-site WebSocket hijacking). Zero keeps the check.
	InsecureSkipOriginCheck bool

	// Subprotocols lists the subprotocols the server supports, in order of preference.
	// The first one the client also offers is chosen. Zero means none: sessions report "".
	Subprotocols []string
	// SelectSubprotocol, when set, is called instead of the Subprotocols rule, with the
	// opening request and the client's offer. It returns one of the offered values, or ""
	// for none. A value that was not offered is treated as "". Zero means use
	// Subprotocols.
	SelectSubprotocol func(r *http.Request, offered []string) string

	// MaxMessageSize is the largest inbound message payload, in bytes. A larger one closes
	// the session with 1009. Zero means 1 MiB.
	MaxMessageSize int64
	// MaxBatchSize is the largest inbound batch (a WebSocket message or a POST body), in
	// bytes. A larger one closes the session with 1009. Zero means MaxMessageSize + 64 KiB.
	MaxBatchSize int64
	// OutboxBytes bounds the bytes of messages a session has written but the client has
	// not yet acknowledged. A Write that would pass it closes the session with 4008 (peer
	// too slow). Zero means 8 MiB.
	OutboxBytes int64
	// ReadQueue is how many received messages a session holds for Read. When it is full,
	// the session stops taking messages from the client (backpressure) until Read makes
	// room. Zero means 64.
	ReadQueue int

	// PingInterval is how long the server lets a carrier go without sending anything
	// before it sends a heartbeat. Zero means 25 s.
	PingInterval time.Duration
	// IdleTimeout is how long a carrier may go without anything heard from the client
	// before the server drops it. The session stays resumable. Zero means 60 s.
	IdleTimeout time.Duration
	// ResumeWindow is how long a session without a carrier waits for the client to come
	// back. After that it closes with 4006. Zero means 30 s. Together with IdleTimeout it
	// bounds the age of unacknowledged messages (PROTOCOL.md section 6, rule 7).
	ResumeWindow time.Duration
	// WriteTimeout bounds each write to a carrier. A carrier that cannot take a batch in
	// time is dropped. Zero means 10 s.
	WriteTimeout time.Duration
	// CloseTimeout bounds the close handshake. Zero means 5 s.
	CloseTimeout time.Duration
	// PollHold is how long a poll GET waits for something to send before it is answered
	// with an empty 200 and the client polls again. Keep it below the idle timeouts of
	// the proxies in front of the server. Zero means 25 s.
	PollHold time.Duration
	// StreamMaxBytes is how many body bytes a stream response carries before the server
	// ends it, after the batch in progress; the client continues on a new stream GET and
	// nothing is lost. It bounds what a buffering proxy can hold back. Zero means 128 KiB.
	StreamMaxBytes int64
	// MaxSessions bounds the live sessions of the server. Requests that would open one
	// more get 503 / close code 1013. Zero means 100 000.
	MaxSessions int
	// MaxSessionsPerClient bounds the live sessions opened from one client address
	// (ClientAddress). Requests that would open one more get 503 / close code 1013, as for
	// MaxSessions. Behind a proxy every client has the proxy's address: set ClientAddress,
	// or raise this. Zero means 1 000.
	MaxSessionsPerClient int
	// ClientAddress returns the address MaxSessionsPerClient counts the opening request r
	// under; it is called once per session. Zero means the IP address of r.RemoteAddr
	// (without the port), or for IPv6 its /64 network.
	ClientAddress func(r *http.Request) string
	// MaxPostsPerSession bounds the POSTs of one session in progress at once (a client
	// sends one at a time, PROTOCOL.md 8.4). One more is answered 429 / close code 1013
	// without being processed; the session goes on. Zero means 4.
	MaxPostsPerSession int
	// StreamMaxHold is how long a stream response is held before the server ends it,
	// after the batch in progress; the client continues on a new stream GET and nothing
	// is lost, as after StreamMaxBytes. It bounds how long one request ties up a proxy
	// connection. Zero means 5 min.
	StreamMaxHold time.Duration
	// HandshakeTimeout bounds the WebSocket handshake's answer and the reading of a POST
	// body. A POST body that has not fully arrived in time is answered 400 / close code
	// 1002 and nothing of it is processed (the session goes on). The request line and
	// headers are read by net/http before the server sees the request: bound them with
	// http.Server.ReadHeaderTimeout. Zero means 10 s.
	HandshakeTimeout time.Duration

	// Broker carries pub/sub messages (Server.Publish, Session.Subscribe). A broker that
	// also implements broker.Router (broker/redis) makes the server one node of a
	// cluster: session ids start with the node id, and a request for a session of another
	// node is passed to that node (docs/SCALING.md). The server does not close it. Nil
	// means an in-memory broker of this server alone (broker.NewMemory).
	Broker broker.Broker

	// Logger receives the server's logs. Nil discards them.
	Logger *slog.Logger
}

// config is Options with the defaults applied.
type config struct {
	Options
	log *slog.Logger
}

func newConfig(o *Options) *config {
	c := &config{}
	if o != nil {
		c.Options = *o
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 1 << 20
	}
	if c.MaxBatchSize <= 0 {
		c.MaxBatchSize = c.MaxMessageSize + 64<<10
	}
	if c.OutboxBytes <= 0 {
		c.OutboxBytes = 8 << 20
	}
	if c.ReadQueue <= 0 {
		c.ReadQueue = 64
	}
	def(&c.PingInterval, 25*time.Second)
	def(&c.IdleTimeout, 60*time.Second)
	def(&c.ResumeWindow, 30*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.CloseTimeout, 5*time.Second)
	def(&c.PollHold, 25*time.Second)
	if c.StreamMaxBytes <= 0 {
		c.StreamMaxBytes = 128 << 10
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 100_000
	}
	if c.MaxSessionsPerClient <= 0 {
		c.MaxSessionsPerClient = 1000
	}
	if c.MaxPostsPerSession <= 0 {
		c.MaxPostsPerSession = 4
	}
	def(&c.StreamMaxHold, 5*time.Minute)
	def(&c.HandshakeTimeout, 10*time.Second)
	c.log = c.Logger
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}
