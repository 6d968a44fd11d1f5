// Package seqcheck checks, for tests, that messages named "<prefix><sender>.<k>" came
// exactly once and in each sender's order. It is for tests only.
package seqcheck
