// Package polysock holds the types shared by the polysock server and client packages:
// message types, close codes and the close error.
//
// polysock gives web pages and Go programs one real-time message session that always
// connects: native WebSocket where the network allows it, HTTP streaming or long-polling
// where it does not, with the same API, ordering and exactly-once delivery on every
// transport. See package server for the http.Handler, package client for the Go client,
// and PROTOCOL.md for the wire protocol.
package polysock
