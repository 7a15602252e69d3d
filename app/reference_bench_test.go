package app_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore/embedded"
)

// BenchmarkReferenceRead measures what every CPTS DecideDuePayments now
// costs before it decides: reading the tails of the two reference streams
// (nothing new: the case of nearly every decision) and copying the
// reference for the decision, on the embedded store.
func BenchmarkReferenceRead(b *testing.B) {
	ctx := context.Background()
	s, err := embedded.Open(ctx, filepath.Join(b.TempDir(), "events.db"), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	l := app.New(s, app.Options{Actor: "bench", ReplayHistory: true})
	for _, line := range []string{
		`{"type":"PublishRulebookAmendment","command_id":"am","amendment_id":"t1","amends":"aci-2022","effective_on":"2022-04-01","published_on":"2023-06-15","amounts":[{"tier":"T1","mission":"crisis","component":"fixed","amount":"15000"}],"source":"bench","reason":"bench"}`,
		`{"type":"RecogniseCrisis","command_id":"cr1","ars":"ARS Bretagne","from":"2022-10-01","to":"2023-03-31","recognised_on":"2022-12-01","reason":"bench"}`,
		`{"type":"RecogniseCrisis","command_id":"cr2","ars":"ARS Normandie","from":"2022-10-01","to":"2023-03-31","recognised_on":"2022-12-01","reason":"bench"}`,
	} {
		if r, err := l.Submit(ctx, []byte(line)); err != nil || !r.OK {
			b.Fatalf("%+v %v", r, err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Reference(ctx, cpts.Scheme); err != nil {
			b.Fatal(err)
		}
	}
}
