// Package heap samples the live heap while a benchmark runs, to report the
// largest seen ("memory flat while reading a million events").
package heap

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Sample records the largest live heap every 10 ms into peak until stop is
// called.
func Sample(peak *atomic.Uint64) (stop func()) {
	runtime.GC()
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}
