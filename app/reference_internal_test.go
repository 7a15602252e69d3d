package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/google/uuid"
)

// The signatures a reference fact is matched against are folded from the
// log once, then from its tail: a contract signed after the first lookup
// is found by the next, and the events read are only those appended since.
func TestSignatureIndexReadsTheTail(t *testing.T) {
	ctx := context.Background()
	store, err := embedded.Open(ctx, filepath.Join(t.TempDir(), "events.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	raw, err := os.ReadFile("../examples/t2-contract.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	sign, _, _ := bytes.Cut(raw, []byte("\n"))
	l := New(store, Options{ReplayHistory: true})
	first, second := uuid.MustParse("0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"), uuid.MustParse("0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e81")
	submit := func(line []byte) {
		if res, err := l.Submit(ctx, line); err != nil || !res.OK {
			t.Fatalf("%s: %+v %v", line, res.Error, err)
		}
	}
	submit(sign)
	rf := cpts.Default().(domain.ReferenceFacts)
	var x signatureIndex
	all := func(domain.Event) bool { return true }
	ids, err := x.reached(ctx, store, rf, all)
	if err != nil || !slices.Equal(ids, []uuid.UUID{first}) {
		t.Fatalf("first lookup: %v %v", ids, err)
	}
	head, _ := store.Head(ctx)
	if x.after != head {
		t.Fatalf("folded up to %d, head %d", x.after, head)
	}
	submit(bytes.ReplaceAll(bytes.ReplaceAll(sign, []byte(first.String()), []byte(second.String())), []byte(`"t2-sign"`), []byte(`"t2-sign-2"`)))
	ids, err = x.reached(ctx, store, rf, all)
	if err != nil || !slices.Equal(ids, []uuid.UUID{first, second}) {
		t.Fatalf("second lookup: %v %v", ids, err)
	}
	none, _ := x.reached(ctx, store, rf, func(domain.Event) bool { return false })
	if len(none) != 0 {
		t.Fatalf("a fact reaching none reached %v", none)
	}
}
