// Package redistest starts a real redis-server for tests, on a free loopback port, and
// stops it when the test ends. It is for tests only.
//
// When redis-server is not installed the test is skipped with a message, unless the
// environment variable POLYSOCK_REQUIRE_REDIS is "1" (make test sets it): then it fails.
package redistest
