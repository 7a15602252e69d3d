// Package testwait is the one routine the tests use to wait for a
// condition: poll it until it holds, and fail the test, naming what was
// awaited, when the deadline passes. Tests wait on conditions, never on a
// fixed sleep or a log line.
package testwait

import (
	"testing"
	"time"
)

// poll is how often the condition is checked.
const poll = 20 * time.Millisecond

// Until polls cond until it holds, failing the test after timeout. Call it
// on the test's goroutine (it may call t.Fatalf).
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(poll)
	}
}
