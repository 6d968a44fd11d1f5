// Command server is the polysock endpoint the Node tests of the browser client talk to: a
// real server.Server mounted at /rt on a free 127.0.0.1 port, whose application echoes
// every message with its type and obeys a few text commands. It prints
// "listening http://127.0.0.1:<port>/rt" once it accepts connections and runs until it
// is killed or its standard input closes (so it never outlives the test that started it).
//
// Flags -websocket and -stream make it a hostile network for the transport selection:
//
//	-websocket=refuse       upgrades are refused with HTTP 403 (a proxy that blocks WebSocket)
//	-websocket=hang         upgrades get no answer at all
//	-websocket=kill         upgrades are accepted, then the connection is dropped at once
//	-websocket=close:<code> upgrades are accepted, then closed with that close code
//	-websocket=silent       upgrades get an OPEN (ping 100 ms), then nothing ever again
//	-websocket=flap         upgrades are served, and the connection is dropped 300 ms later
//	-stream=hang            stream GETs get no answer at all (a buffering proxy)
//
// The modes can also be changed while the server runs, by the mode command.
//
// Commands (text messages, answered instead of echoed):
//
//	close:<code>:<reason>  the server closes the session with that code and reason
//	burst:<n>              the server sends the texts "0" … "<n-1>"
//	transport              the server answers with the session's transport
//	protocol               the server answers with the session's subprotocol
//	cut                    every connection of the session is dropped at once (its carriers,
//	                       POSTs included), without an answer: the client must resume
//	mode:<flag>=<mode>     sets -websocket or -stream to mode from now on, answers "ok"
//
// The server knows a connection's session from its last request's ps_sid, or, for the
// request that created a session, from the session's request (matched by remote address).
package main
