package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain/cpts"
)

func validateLetter(commandID string, letter uuid.UUID, cptsID string) []byte {
	return fmt.Appendf(nil, `{"type":"ValidateLetterOfIntent","command_id":%q,"letter_id":%q,"cpts":{"id":%q,"name":"CPTS %s"},"ars":"ARS Bretagne","cpam":"CPAM du Finistère","population":50000,"validated_on":"2022-06-01"}`,
		commandID, letter, cptsID, cptsID)
}

func signFollowing(commandID string, contract, letter uuid.UUID, cptsID string) []byte {
	return fmt.Appendf(nil, `{"type":"SignContract","command_id":%q,"contract_id":%q,"letter_id":%q,"cpts":{"id":%q,"name":"CPTS %s"},"ars":"ARS Bretagne","cpam":"CPAM du Finistère","population":50000,"signed_on":"2022-09-01","missions":["access","pathways","prevention","crisis"],"snp_regulation":false,"indicators":[{"mission":"access","code":"a","weight":"1","target":"1"},{"mission":"pathways","code":"p","weight":"1","target":"1"},{"mission":"prevention","code":"v","weight":"1","target":"1"},{"mission":"crisis","code":"c","weight":"1","target":"1"}]}`,
		commandID, contract, letter, cptsID, cptsID)
}

// A letter of intent is validated (its aid decided in its own stream), a
// contract follows it; one letter, one aid, one contract; a signature
// naming a letter that does not exist, or another CPTS's, is refused; no
// refusal writes anything.
func TestALetterThenAContract(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, filepath.Join(t.TempDir(), "events.db"))
	l := app.New(store, app.Options{})
	letter := uuid.New()
	submit := func(line []byte) app.Result {
		t.Helper()
		r, err := l.Submit(ctx, line)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := submit(validateLetter("loi", letter, "cpts-9")); !r.OK || len(r.Events) != 2 || r.Events[0] != cpts.TypeLetterOfIntentValidated {
		t.Fatalf("the letter: %+v", r)
	}
	if r := submit(validateLetter("loi", letter, "cpts-9")); !r.OK || !r.Duplicate {
		t.Fatalf("the letter sent again: %+v", r)
	}
	first := uuid.New()
	if r := submit(signFollowing("sign-1", first, letter, "cpts-9")); !r.OK {
		t.Fatalf("the contract that follows it: %+v", r)
	}
	head, _ := store.Head(ctx)
	for _, tc := range []struct {
		line []byte
		code string
	}{
		{validateLetter("loi-again", letter, "cpts-9"), cpts.CodeLetterValidated},
		{signFollowing("sign-2", uuid.New(), letter, "cpts-9"), cpts.CodeLetterFollowed},
		{signFollowing("sign-3", uuid.New(), uuid.New(), "cpts-9"), cpts.CodeUnknownLetter},
		{signFollowing("sign-4", uuid.New(), letter, "cpts-8"), cpts.CodeLetterOtherCPTS},
		{fmt.Appendf(nil, `{"type":"DecideDuePayments","command_id":"d","contract_id":%q,"as_of":"2022-12-01"}`, letter), "contract_not_found"},
	} {
		if r := submit(tc.line); r.OK || r.Error == nil || r.Error.Code != tc.code {
			t.Errorf("%s: %+v, want %s", tc.line, r, tc.code)
		}
	}
	if h, _ := store.Head(ctx); h != head {
		t.Fatalf("refusals moved the head from %d to %d", head, h)
	}
	aid, err := store.ReadStream(ctx, "cpts-"+letter.String(), 0, 10)
	if err != nil || len(aid) != 2 || aid[1].Type != cpts.TypePaymentDecided {
		t.Fatalf("the letter's stream: %d events %v", len(aid), err)
	}
}

// Two processes sign, at the same moment, two contracts naming one letter:
// exactly one follows it, the other is refused (letter_followed), whatever
// the order — the claim of the letter is taken with the stream, in the
// store's transaction. Twenty rounds, a fresh letter each.
func TestTwoContractsRaceForOneLetter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	a, b := app.New(openStore(t, path), app.Options{}), app.New(openStore(t, path), app.Options{})
	for round := range 20 {
		letter := uuid.New()
		if r, err := a.Submit(ctx, validateLetter(fmt.Sprint("loi-", round), letter, "cpts-9")); err != nil || !r.OK {
			t.Fatalf("round %d, the letter: %+v %v", round, r, err)
		}
		var wg sync.WaitGroup
		results := make([]app.Result, 2)
		for i, l := range []*app.Ledger{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := l.Submit(ctx, signFollowing(fmt.Sprintf("sign-%d-%d", round, i), uuid.New(), letter, "cpts-9"))
				if err != nil {
					t.Error(err)
				}
				results[i] = r
			}()
		}
		wg.Wait()
		ok := 0
		for _, r := range results {
			switch {
			case r.OK:
				ok++
			case r.Error == nil || r.Error.Code != cpts.CodeLetterFollowed:
				t.Fatalf("round %d: %+v", round, r)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d contracts follow the letter, want 1: %+v", round, ok, results)
		}
	}
}
