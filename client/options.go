package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/polysock/polysock/internal/wire"
)

// Options configures Dial. A nil *Options means defaults; each field's doc says what its
// zero value means.
type Options struct {
	// Transports lists the transports to try, in order, by name ("websocket", "stream",
	// "poll"). Nil or empty means automatic: "websocket", then "stream", then "poll". Dial
	// moves to the next transport when one fails to reach OPEN (see AttemptTimeout) and
	// refuses unknown names and duplicates.
	Transports []string

	// Protocols lists the subprotocols offered to the server (ps_p), in order of
	// preference. Each must be an RFC 7230 token and appear once. Nil offers none; the
	// server then chooses none.
	Protocols []string

	// Header holds extra headers sent with every request, such as Origin, Cookie or
	// Authorization. Nil sends none. Headers that the WebSocket handshake sets itself
	// (Upgrade, Connection, Sec-WebSocket-*) make Dial fail; subprotocols go in Protocols.
	Header http.Header

	// HTTPClient supplies network settings. Nil means http.DefaultClient. The WebSocket
	// transport uses its Jar and, when its Transport is an *http.Transport (or nil,
	// meaning http.DefaultTransport), that transport's Proxy, DialContext and
	// TLSClientConfig. The "stream" and "poll" transports send every request through it,
	// each under a context of its own; its Timeout, if any, must be longer than a held
	// poll (the server's hold time), or polls fail.
	HTTPClient *http.Client

	// AttemptTimeout bounds each transport attempt but the last one in Transports: when
	// the server's OPEN has not arrived within it, Dial tries the next transport. The last
	// attempt is bounded by Dial's context only. Zero means 10 s.
	AttemptTimeout time.Duration

	// MaxMessageSize is the largest inbound message payload accepted, in bytes. A larger
	// message ends the session with close code 1009. Zero means 1 MiB.
	MaxMessageSize int64

	// ReadQueue is the number of received messages buffered for Read. When the queue is
	// full the connection stops reading from the network until Read takes a message, so
	// that a slow reader pushes back on the server instead of growing memory. Zero means
	// 256.
	ReadQueue int

	// ReplayBuffer bounds, in bytes, the messages written but not yet acknowledged by the
	// server (payload plus framing), which are kept so that they can be sent again. Write
	// blocks while a message would take them past the bound, until the server's ACKs make
	// room; a message larger than the bound fails with ErrBufferFull. Zero means 8 MiB.
	ReplayBuffer int64

	// LivenessGrace is added to twice the server's heartbeat interval (OPEN ping) to give
	// the silence after which the client declares its carrier dead and resumes the
	// session on a new one (PROTOCOL.md section 7). Zero means 5 s.
	LivenessGrace time.Duration

	// ReconnectMin and ReconnectMax shape the backoff between attempts to resume the
	// session after its carrier was lost: the first attempt goes out at once, attempt k+1
	// after a random wait in [0, min(ReconnectMax, ReconnectMin·2^(k-1))] (exponential
	// backoff with full jitter). Zero means 250 ms and 10 s; ReconnectMax below
	// ReconnectMin is raised to it.
	ReconnectMin, ReconnectMax time.Duration

	// ReconnectAttempts bounds the attempts to resume after one carrier loss; a carrier
	// that reaches the server resets the count. Each attempt is bounded by AttemptTimeout.
	// After two failed attempts in a row on one transport the next attempts use the next
	// transport of Transports (wrapping around). When every attempt fails the session
	// ends with code 1006. Zero means 10; a negative value disables resuming: a lost
	// carrier ends the session with 1006 (or the close code the server sent).
	ReconnectAttempts int

	// OnTransportChange, when set, is called each time the session resumes on a carrier
	// of another transport than the previous one (after a reconnect that fell back to
	// another transport, SwitchTransport, or a background upgrade to WebSocket, see
	// UpgradeHold), with the two transport names. It runs on
	// the Conn's reader goroutine, which it holds up: it must return quickly and must not
	// call Read, Write, Close or SwitchTransport. Nil means no notification; Transport
	// always reports the current transport.
	OnTransportChange func(old, new string)

	// UpgradeHold governs the background upgrade to WebSocket. While the session runs on
	// "stream" or "poll" and Transports allows "websocket", the Conn probes WebSocket in
	// the background (1 s after the carrier opened, then with a backoff doubling up to
	// 60 s) by resuming the session on a WebSocket carrier; a probe that fails leaves the
	// current carrier untouched, one that succeeds moves the session onto the WebSocket
	// with nothing lost, repeated or reordered (OnTransportChange reports it). A WebSocket
	// that fails, or dies within 10 s of its OPEN, is an early death; a WebSocket that
	// dies early resumes on the transport it upgraded from. After two early deaths in a
	// row the Conn stays off WebSocket (probes nothing) for UpgradeHold. Zero means
	// 5 minutes; a negative value disables probing. Probing is off too when resuming is
	// (ReconnectAttempts < 0).
	UpgradeHold time.Duration

	// Logger receives debug records about the session's life (dial, open, resume, close)
	// and warnings about protocol errors. Nil discards them.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultMaxMessageSize = 1 << 20
	DefaultReadQueue      = 256
	DefaultReplayBuffer   = 8 << 20
	DefaultAttemptTimeout = 10 * time.Second

	DefaultLivenessGrace     = 5 * time.Second
	DefaultReconnectMin      = 250 * time.Millisecond
	DefaultReconnectMax      = 10 * time.Second
	DefaultReconnectAttempts = 10
	DefaultUpgradeHold       = 5 * time.Minute
)

// config is Options after validation, with defaults filled in.
type config struct {
	transports     []string
	protocols      []string
	header         http.Header
	httpClient     *http.Client
	attemptTimeout time.Duration
	maxMessage     int64
	readQueue      int
	replayBuffer   int64
	livenessGrace  time.Duration
	reconnectMin   time.Duration
	reconnectMax   time.Duration
	reconnects     int           // attempts per loss; < 0 disables resuming
	upgradeHold    time.Duration // < 0 disables probing WebSocket
	onTransport    func(old, new string)
	log            *slog.Logger
}

// transportsAvailable lists the transports this version implements, in automatic order.
var transportsAvailable = []string{wire.TransportWebSocket, wire.TransportStream, wire.TransportPoll}

func newConfig(o *Options) (*config, error) {
	if o == nil {
		o = &Options{}
	}
	c := &config{
		header:         o.Header.Clone(),
		httpClient:     o.HTTPClient,
		attemptTimeout: o.AttemptTimeout,
		maxMessage:     o.MaxMessageSize,
		readQueue:      o.ReadQueue,
		replayBuffer:   o.ReplayBuffer,
		livenessGrace:  o.LivenessGrace,
		reconnectMin:   o.ReconnectMin,
		reconnectMax:   o.ReconnectMax,
		reconnects:     o.ReconnectAttempts,
		upgradeHold:    o.UpgradeHold,
		onTransport:    o.OnTransportChange,
		log:            o.Logger,
	}
	var err error
	if c.transports, err = checkTransports(o.Transports); err != nil {
		return nil, err
	}
	if err := checkProtocols(o.Protocols); err != nil {
		return nil, err
	}
	c.protocols = append([]string(nil), o.Protocols...)
	if c.header == nil {
		c.header = http.Header{}
	}
	if c.header.Get("Sec-WebSocket-Protocol") != "" {
		return nil, errors.New("header Sec-WebSocket-Protocol is not used by polysock; offer subprotocols in Options.Protocols")
	}
	if c.httpClient == nil {
		c.httpClient = http.DefaultClient
	}
	for _, err := range []error{
		orDefault(&c.maxMessage, DefaultMaxMessageSize, "MaxMessageSize"),
		orDefault(&c.readQueue, DefaultReadQueue, "ReadQueue"),
		orDefault(&c.replayBuffer, DefaultReplayBuffer, "ReplayBuffer"),
		orDefault(&c.attemptTimeout, DefaultAttemptTimeout, "AttemptTimeout"),
		orDefault(&c.livenessGrace, DefaultLivenessGrace, "LivenessGrace"),
	} {
		if err != nil {
			return nil, err
		}
	}
	c.maxMessage = min(c.maxMessage, wire.MaxSafe)
	if c.reconnectMin < 0 || c.reconnectMax < 0 {
		return nil, fmt.Errorf("invalid ReconnectMin %v or ReconnectMax %v", c.reconnectMin, c.reconnectMax)
	}
	if c.reconnectMin == 0 {
		c.reconnectMin = DefaultReconnectMin
	}
	if c.reconnectMax == 0 {
		c.reconnectMax = DefaultReconnectMax
	}
	c.reconnectMax = max(c.reconnectMax, c.reconnectMin)
	if c.reconnects == 0 {
		c.reconnects = DefaultReconnectAttempts
	}
	if c.upgradeHold == 0 {
		c.upgradeHold = DefaultUpgradeHold
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// orDefault sets *v to def when it is zero. A negative value is an error naming the option.
func orDefault[T int | int64 | time.Duration](v *T, def T, name string) error {
	if *v < 0 {
		return fmt.Errorf("invalid %s %v", name, *v)
	}
	if *v == 0 {
		*v = def
	}
	return nil
}

func checkTransports(names []string) ([]string, error) {
	if len(names) == 0 {
		return append([]string(nil), transportsAvailable...), nil
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		switch n {
		case wire.TransportWebSocket, wire.TransportStream, wire.TransportPoll:
		default:
			return nil, fmt.Errorf("unknown transport %q (want %q, %q or %q)", n,
				wire.TransportWebSocket, wire.TransportStream, wire.TransportPoll)
		}
		if seen[n] {
			return nil, fmt.Errorf("transport %q listed twice", n)
		}
		seen[n] = true
	}
	return append([]string(nil), names...), nil
}

// errBadToken is returned for a subprotocol that is not an RFC 7230 token.
var errBadToken = errors.New("not an RFC 7230 token")

func checkProtocols(protocols []string) error {
	seen := make(map[string]bool, len(protocols))
	for _, p := range protocols {
		if !isToken(p) {
			return fmt.Errorf("invalid subprotocol %q: %w", p, errBadToken)
		}
		if seen[p] {
			return fmt.Errorf("subprotocol %q offered twice", p)
		}
		seen[p] = true
	}
	return nil
}

// isToken reports whether s is an RFC 7230 token: one or more tchar.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c < 0x80 && isTcharPunct[c]:
		default:
			return false
		}
	}
	return true
}

var isTcharPunct = func() (t [128]bool) {
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
