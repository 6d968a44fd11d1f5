package wire

// Close codes (PROTOCOL.md section 9). 1005 and 1006 are reported, never sent.
const (
	CloseNormal             uint16 = 1000
	CloseGoingAway          uint16 = 1001
	CloseProtocolError      uint16 = 1002
	CloseUnsupportedData    uint16 = 1003
	CloseNoStatus           uint16 = 1005
	CloseAbnormal           uint16 = 1006
	CloseInvalidPayload     uint16 = 1007
	ClosePolicyViolation    uint16 = 1008
	CloseMessageTooBig      uint16 = 1009
	CloseInternalError      uint16 = 1011
	CloseServiceRestart     uint16 = 1012
	CloseTryAgainLater      uint16 = 1013
	CloseUnsupportedVersion uint16 = 4001
	CloseBadRequest         uint16 = 4002
	CloseUnknownSession     uint16 = 4004
	CloseReplaced           uint16 = 4005
	CloseResumeExpired      uint16 = 4006
	ClosePeerTooSlow        uint16 = 4008
)

// Query parameters of carrier requests (PROTOCOL.md section 2).
const (
	ParamVersion   = "ps_v"
	ParamTransport = "ps_t"
	ParamEncoding  = "ps_e"
	ParamSession   = "ps_sid"
	ParamToken     = "ps_tok"
	ParamAck       = "ps_ack"
	ParamProtocols = "ps_p"
	ParamNonce     = "ps_r"
)

// Transport names, the same strings in every API, URL, log and test.
const (
	TransportWebSocket = "websocket"
	TransportStream    = "stream"
	TransportPoll      = "poll"
	TransportSockJS    = "sockjs"
)

// Encodings of GET responses (ps_e).
const (
	EncodingBinary = "bin"
	EncodingText   = "text"
	EncodingSSE    = "sse"
)

// Content types of HTTP bodies.
const (
	ContentTypeBinary = "application/octet-stream"
	ContentTypeText   = "text/plain; charset=utf-8"
	ContentTypeSSE    = "text/event-stream"
)

// HTTP headers of error answers (PROTOCOL.md section 9.1).
const (
	HeaderClose   = "X-PolySock-Close"
	HeaderVersion = "X-PolySock-Version"
)

// PreludeSize is the minimum size of a stream prelude, in bytes.
const PreludeSize = 2048
