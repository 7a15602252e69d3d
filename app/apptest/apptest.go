// Package apptest is the conformance suite of the command path over any
// event store backend: what `ledger submit` promises, raced by two ledgers
// (two processes) on one store. Each backend runs it from its tests:
//
//	apptest.Run(t, func(t *testing.T) apptest.Opener { path := …; return func() eventstore.Store { return open(path) } })
//
// The opener returns a new handle on the same storage each time it is
// called; the suite closes the handles.
package apptest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/google/uuid"
)

// Opener returns a new handle on one store's storage.
type Opener func() eventstore.Store

// Run runs every test of the suite on fresh storage made by fresh.
func Run(t *testing.T, fresh func(t *testing.T) Opener) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"conflicting_submits_ack_only_what_is_stored", testConflictingSubmits},
		{"contract_id_belongs_to_one_scheme", testIDOneScheme},
		{"concurrent_signatures_in_two_schemes_one_wins", testConcurrentSignatures},
		{"a_signature_again_from_a_ledger_without_the_contract", testSignatureAgain},
		{"an_id_signed_before_ids_were_claimed", testSignedBeforeClaims},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := fresh(t)
			tc.fn(t, func() eventstore.Store {
				s := o()
				t.Cleanup(func() { s.Close() })
				return s
			})
		})
	}
}

// SignCPTS is a valid CPTS signature of contract id, signed on 2020-01-15.
func SignCPTS(commandID string, id uuid.UUID) []byte {
	return fmt.Appendf(nil, `{"type":"SignContract","command_id":%q,"contract_id":%q,"cpts":{"id":"c-%s","name":"CPTS %s"},"ars":"ARS Normandie","cpam":"CPAM","population":50000,"signed_on":"2020-01-15","missions":["access","pathways","prevention"],"snp_regulation":false,"indicators":[{"mission":"access","code":"a","weight":"1","target":"1"},{"mission":"pathways","code":"p","weight":"1","target":"1"},{"mission":"prevention","code":"v","weight":"1","target":"1"}]}`,
		commandID, id, id.String()[:8], id.String()[:8])
}

// SignAid is a valid medical-assistant aid signature of contract id.
func SignAid(commandID string, id uuid.UUID) []byte {
	return fmt.Appendf(nil, `{"type":"SignAidContract","command_id":%q,"contract_id":%q,"cpam":"CPAM","doctor":{"rpps":"10001234567","specialty":"general_practice","sector":1,"optam":false,"group_practice":true,"underserved_zone":false,"coordinated_practice":true},"option":"1/2","signed_on":"2021-03-01","band":"below_p90","patientele_baseline":900,"patientele_target":1000}`,
		commandID, id)
}

func submit(t *testing.T, l *app.Ledger, line []byte) app.Result {
	t.Helper()
	res, err := l.Submit(context.Background(), line)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return res
}

// commandsOf returns the command ids recorded in a stream.
func commandsOf(t *testing.T, s eventstore.Store, stream string) map[string]int {
	t.Helper()
	evs, err := s.ReadStream(context.Background(), stream, 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range evs {
		out[e.CommandID]++
	}
	return out
}

// checkResult fails on a result that is both ok and in error, or neither.
func checkResult(res app.Result) error {
	switch {
	case res.OK && res.Error != nil:
		return fmt.Errorf("%s: ok and in error (%s)", res.CommandID, res.Error.Code)
	case !res.OK && res.Error == nil:
		return fmt.Errorf("%s: neither ok nor in error", res.CommandID)
	case !res.OK && len(res.Events) > 0:
		return fmt.Errorf("%s: rejected with events %v", res.CommandID, res.Events)
	}
	return nil
}

// Two ledgers start the same mission of the same contracts at once, on
// different dates: for each contract exactly one command is acknowledged,
// its events are in the store, the other is rejected (and says so only).
func testConflictingSubmits(t *testing.T, open Opener) {
	const contracts, rounds = 40, 3
	a, b := app.New(open(), app.Options{Actor: "a"}), app.New(open(), app.Options{Actor: "b"})
	check := open()
	for round := 0; round < rounds; round++ {
		ids := make([]uuid.UUID, contracts)
		for i := range ids {
			ids[i] = uuid.New()
			if res := submit(t, a, SignCPTS(fmt.Sprintf("sign-%d-%d", round, i), ids[i])); !res.OK {
				t.Fatalf("sign: %+v", res.Error)
			}
		}
		results := make([][]app.Result, 2)
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for w, l := range []*app.Ledger{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i, id := range ids {
					line := fmt.Appendf(nil, `{"type":"StartMission","command_id":"start-%d-%d-%d","contract_id":%q,"mission":"access","started_on":"2020-03-0%d"}`, w, round, i, id, w+1)
					res, err := l.Submit(context.Background(), line)
					if err != nil {
						errs <- err
						return
					}
					results[w] = append(results[w], res)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for i, id := range ids {
			stored := commandsOf(t, check, domain.Stream("cpts", id))
			oks := 0
			for w := range results {
				res := results[w][i]
				if err := checkResult(res); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if res.OK {
					oks++
					if stored[res.CommandID] != len(res.Events) || len(res.Events) == 0 {
						t.Fatalf("round %d: %s acknowledged with %v, store holds %d of its events", round, res.CommandID, res.Events, stored[res.CommandID])
					}
				} else if stored[res.CommandID] != 0 {
					t.Fatalf("round %d: %s rejected (%s) but stored", round, res.CommandID, res.Error.Code)
				} else if res.Error.Code != "mission_already_started" {
					t.Fatalf("round %d: %s rejected with %s", round, res.CommandID, res.Error.Code)
				}
			}
			if oks != 1 {
				t.Fatalf("round %d: contract %s: %d starts acknowledged, want 1", round, id, oks)
			}
		}
	}
}

// bothWays signs an id in one scheme (first, its stream the owner's), then
// in the other (second).
var bothWays = []struct {
	name          string
	first, second func(string, uuid.UUID) []byte
	owner         string
}{
	{"cpts_then_aid", SignCPTS, SignAid, "cpts"},
	{"aid_then_cpts", SignAid, SignCPTS, "assistant"},
}

// A contract id signed in one scheme cannot be signed in the other, either
// way, and the refusal writes nothing; later commands on the id go to the
// contract signed.
func testIDOneScheme(t *testing.T, open Opener) {
	s := open()
	l := app.New(s, app.Options{})
	for _, tc := range bothWays {
		id := uuid.New()
		if res := submit(t, l, tc.first("first-"+tc.name, id)); !res.OK {
			t.Fatalf("%s: first signature: %+v", tc.name, res.Error)
		}
		head, err := s.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// A fresh ledger (another process) and this one, with the
		// contract cached, both refuse.
		for _, ledger := range []*app.Ledger{l, app.New(open(), app.Options{})} {
			res := submit(t, ledger, tc.second("second-"+tc.name, id))
			if err := checkResult(res); err != nil || res.OK || res.Error.Code != "contract_id_taken" {
				t.Fatalf("%s: second signature: %+v %v, want contract_id_taken", tc.name, res, err)
			}
		}
		if h, err := s.Head(context.Background()); err != nil || h != head {
			t.Fatalf("%s: the refused signature moved the head from %d to %d (%v)", tc.name, head, h, err)
		}
		// Later commands on the id go to the first contract.
		res := submit(t, l, fmt.Appendf(nil, `{"type":"TerminateContract","command_id":"end-%s","contract_id":%q,"terminated_on":"2022-06-01","reason":"test"}`, tc.name, id))
		if !res.OK {
			t.Fatalf("%s: terminate: %+v", tc.name, res.Error)
		}
		if n := commandsOf(t, s, domain.Stream(tc.owner, id))["end-"+tc.name]; n != 1 {
			t.Fatalf("%s: the termination did not go to the %s contract", tc.name, tc.owner)
		}
	}
}

// Two ledgers sign the same id in two schemes at once: exactly one wins.
func testConcurrentSignatures(t *testing.T, open Opener) {
	const rounds = 20
	a, b := app.New(open(), app.Options{}), app.New(open(), app.Options{})
	check := open()
	for round := 0; round < rounds; round++ {
		id := uuid.New()
		var wg sync.WaitGroup
		res := make([]app.Result, 2)
		errs := make([]error, 2)
		start := make(chan struct{})
		for w, try := range []func() (app.Result, error){
			func() (app.Result, error) { return a.Submit(context.Background(), SignCPTS("s", id)) },
			func() (app.Result, error) { return b.Submit(context.Background(), SignAid("s", id)) },
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res[w], errs[w] = try()
			}()
		}
		close(start)
		wg.Wait()
		for w := range res {
			if errs[w] != nil {
				t.Fatalf("round %d: %v", round, errs[w])
			}
			if err := checkResult(res[w]); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if res[0].OK == res[1].OK {
			t.Fatalf("round %d: cpts ok=%t, aid ok=%t: want exactly one", round, res[0].OK, res[1].OK)
		}
		for w, scheme := range []string{"cpts", "assistant"} {
			n := len(commandsOf(t, check, domain.Stream(scheme, id)))
			if res[w].OK != (n == 1) {
				t.Fatalf("round %d: %s ok=%t but its stream holds %d commands", round, scheme, res[w].OK, n)
			}
			if !res[w].OK && res[w].Error.Code != "contract_id_taken" {
				t.Fatalf("round %d: %s rejected with %s", round, scheme, res[w].Error.Code)
			}
		}
	}
}

// A ledger that does not hold a contract in memory (another process) signs
// it again: the same command, even sent by another actor, is the earlier
// result (duplicate); the same command id on other terms is refused
// (command_id_reused: an id names one command); another command is refused
// (contract_exists); neither writes anything; two such ledgers signing a new id at once, one wins. A
// signature is decided without reading the contract's stream (presumed new),
// so these are the cases where the presumption is wrong.
func testSignatureAgain(t *testing.T, open Opener) {
	s := open()
	for round := range 10 {
		id := uuid.New()
		first := submit(t, app.New(open(), app.Options{Actor: "a"}), SignCPTS("sign", id))
		if !first.OK || first.Duplicate {
			t.Fatalf("round %d: first signature: %+v", round, first)
		}
		head, err := s.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// The same command: its first result, a duplicate.
		again := submit(t, app.New(open(), app.Options{Actor: "b"}), SignCPTS("sign", id))
		if err := checkResult(again); err != nil || !again.OK || !again.Duplicate || fmt.Sprint(again.Events) != fmt.Sprint(first.Events) {
			t.Fatalf("round %d: the same signature from a ledger without the contract: %+v %v, want the first result as a duplicate", round, again, err)
		}
		// The same command id on other terms: a command id names one
		// command, so this is refused, not answered with the first result.
		reused := bytes.Replace(SignCPTS("sign", id), []byte(`"population":50000`), []byte(`"population":50001`), 1)
		if bytes.Equal(reused, SignCPTS("sign", id)) {
			t.Fatal("the reused line is the same command")
		}
		again = submit(t, app.New(open(), app.Options{Actor: "b"}), reused)
		if err := checkResult(again); err != nil || again.OK || again.Error.Code != domain.CodeCommandIDReused {
			t.Fatalf("round %d: the signature's id on other terms: %+v %v, want command_id_reused", round, again, err)
		}
		other := submit(t, app.New(open(), app.Options{Actor: "b"}), SignCPTS("sign-again", id))
		if err := checkResult(other); err != nil || other.OK || other.Error.Code != domain.CodeContractExists {
			t.Fatalf("round %d: another signature from a ledger without the contract: %+v %v, want contract_exists", round, other, err)
		}
		if h, err := s.Head(context.Background()); err != nil || h != head {
			t.Fatalf("round %d: signing again moved the head from %d to %d (%v)", round, head, h, err)
		}
		if got := commandsOf(t, s, domain.Stream("cpts", id)); len(got) != 1 || got["sign"] == 0 {
			t.Fatalf("round %d: the stream holds the commands %v, want the first signature only", round, got)
		}
	}
	twoSignaturesAtOnce(t, open, s)
}

// twoSignaturesAtOnce: two ledgers, two commands, one new id, at once —
// one wins, the other is refused (contract_exists).
func twoSignaturesAtOnce(t *testing.T, open Opener, s eventstore.Store) {
	for round := range 10 {
		id := uuid.New()
		ledgers := []*app.Ledger{app.New(open(), app.Options{}), app.New(open(), app.Options{})}
		res := make([]app.Result, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w, l := range ledgers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res[w], errs[w] = l.Submit(context.Background(), SignCPTS(fmt.Sprintf("sign-%d", w), id))
			}()
		}
		close(start)
		wg.Wait()
		oks := 0
		for w := range res {
			if errs[w] != nil {
				t.Fatalf("round %d: %v", round, errs[w])
			}
			if err := checkResult(res[w]); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if res[w].OK {
				oks++
			} else if res[w].Error.Code != domain.CodeContractExists {
				t.Fatalf("round %d: rejected with %s, want contract_exists", round, res[w].Error.Code)
			}
		}
		if got := commandsOf(t, s, domain.Stream("cpts", id)); oks != 1 || len(got) != 1 {
			t.Fatalf("round %d: %d signatures acknowledged, the stream holds the commands %v: want one of each", round, oks, got)
		}
	}
}

// writeUnclaimed stores the events of a signature as a ledger of before
// claims did: in the contract's stream, claiming nothing.
func writeUnclaimed(t *testing.T, s eventstore.Store, schemeName string, line []byte) {
	t.Helper()
	for _, scheme := range app.DefaultSchemes() {
		if scheme.Name() != schemeName {
			continue
		}
		cmd, err := scheme.DecodeCommand(line)
		if err != nil {
			t.Fatal(err)
		}
		meta := cmd.Meta()
		events, err := scheme.Decide(scheme.NewState(meta.ContractID), cmd)
		if err != nil {
			t.Fatal(err)
		}
		stream := domain.Stream(schemeName, meta.ContractID)
		data, err := app.Envelopes(stream, meta.CommandID, "before-claims", events)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(context.Background(), stream, eventstore.NoStream(), data); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no scheme %s", schemeName)
}

// A contract signed before ids were claimed holds its id without a claim:
// a signature of its id in the other scheme is refused all the same, by a
// ledger that has seen no claim refused yet and by one that has, and
// writes nothing; new ids are signed, and the contract's own signature
// submitted again is a duplicate.
func testSignedBeforeClaims(t *testing.T, open Opener) {
	s := open()
	for _, tc := range bothWays {
		id := uuid.New()
		first := tc.first("old-"+tc.name, id)
		writeUnclaimed(t, s, tc.owner, first)
		head, err := s.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		l := app.New(open(), app.Options{})
		for i := range 2 {
			res := submit(t, l, tc.second(fmt.Sprintf("second-%s-%d", tc.name, i), id))
			if err := checkResult(res); err != nil || res.OK || res.Error.Code != "contract_id_taken" {
				t.Fatalf("%s: signature %d of the id in the other scheme: %+v %v, want contract_id_taken", tc.name, i, res, err)
			}
		}
		if h, err := s.Head(context.Background()); err != nil || h != head {
			t.Fatalf("%s: the refused signatures moved the head from %d to %d (%v)", tc.name, head, h, err)
		}
		if res := submit(t, l, tc.second("new-"+tc.name, uuid.New())); !res.OK {
			t.Fatalf("%s: a new id: %+v", tc.name, res.Error)
		}
		if res := submit(t, l, first); !res.OK || !res.Duplicate {
			t.Fatalf("%s: the old signature again: %+v", tc.name, res)
		}
	}
}
