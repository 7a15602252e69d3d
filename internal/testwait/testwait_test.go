package testwait

import (
	"runtime"
	"testing"
	"time"
)

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	n := 0
	Until(t, time.Minute, "the third poll", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("polled %d times, want 3", n)
	}
}

// recorder is a testing.TB whose Fatalf records the failure and ends its
// goroutine, as the testing package's does.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
	runtime.Goexit()
}

func TestUntilFailsAfterTheTimeout(t *testing.T) {
	r := &recorder{TB: t}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		Until(r, 50*time.Millisecond, "never", func() bool { return false })
	}()
	<-done
	if r.failed == "" {
		t.Fatal("a condition that never held did not fail the test")
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Fatalf("failed after %s, before the timeout", took)
	}
}

// The same seed gives the same draws.
func TestRandReplaysItsSeed(t *testing.T) {
	t.Setenv("LEDGER_TEST_SEED", "42")
	a, b := Rand(t), Rand(t)
	for range 10 {
		if a.Uint64() != b.Uint64() {
			t.Fatal("two sources of the same seed drew differently")
		}
	}
}
