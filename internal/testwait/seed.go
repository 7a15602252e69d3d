package testwait

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// Rand is a test's source of randomness (kill timings, sizes, streams):
// seeded from LEDGER_TEST_SEED when set, else from the clock, and the seed
// is logged, so that a failure is replayed with
// LEDGER_TEST_SEED=<seed> go test -run <name>.
func Rand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("LEDGER_TEST_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("LEDGER_TEST_SEED %q: want an unsigned integer", v)
		}
		seed = s
	}
	t.Logf("random seed %d (LEDGER_TEST_SEED=%d replays it)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}
