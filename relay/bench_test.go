package relay_test

import (
	"context"
	"testing"
	"time"

	"github.com/cptsledger/ledger/relay"
)

// BenchmarkRelay publishes a log of 50 000 events to JetStream (file
// storage, an in-process server) with acknowledgements, from zero to the
// head, and reports events/s.
func BenchmarkRelay(b *testing.B) {
	const events = 50_000
	for b.Loop() {
		b.StopTimer()
		e := setup(b)
		e.appendEvents(b, events)
		r := relay.New(e.store, e.js, e.db, relay.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.Run(ctx)
		}()
		b.StartTimer()
		for r.Stats().Position < events {
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		cancel()
		<-done
		if st := r.Stats(); st.Published != events {
			b.Fatalf("published %d of %d", st.Published, events)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*events)/b.Elapsed().Seconds(), "events/s")
}
