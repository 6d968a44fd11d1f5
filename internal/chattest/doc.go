// Package chattest is the chat the pub/sub and cluster tests run on polysock: each
// session joins the topic its opening request names and publishes what it says there.
// It is for tests only (the e2e cluster node runs it too).
package chattest
