package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/app/apptest"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/fixture"
)

const lifecycles = "../domain/cpts/testdata/aci-lifecycles.jsonl"

func openStore(t *testing.T, path string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(context.Background(), path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func lines(t *testing.T) [][]byte {
	t.Helper()
	f, err := os.Open(lifecycles)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	return out
}

// expectedPayments reads a worked examples' file of expected payments:
// contract id → "kind due_on amount" lines.
func expectedPayments(t *testing.T, path string) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string][]struct {
		Kind   string `json:"kind"`
		DueOn  string `json:"due_on"`
		Amount string `json:"amount"`
	}
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for id, ps := range expected {
		for _, p := range ps {
			out[id] = append(out[id], p.Kind+" "+p.DueOn+" "+p.Amount)
		}
	}
	return out
}

// samePayments compares payment lines in any order.
func samePayments(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %v\n want %v", what, got, want)
	}
}

func submitAll(t *testing.T, l *app.Ledger, ls [][]byte) []app.Result {
	t.Helper()
	var out []app.Result
	for i, line := range ls {
		res, err := l.Submit(context.Background(), line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		out = append(out, res)
	}
	return out
}

// The worked lifecycles, submitted through the store, give the expected
// payments; submitting the file again appends nothing.
func TestSubmitLifecyclesThroughTheStore(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "events.db"))
	l := app.New(store, app.Options{Schemes: fixture.Schemes(), Actor: "test"})
	ls := lines(t)
	for i, r := range submitAll(t, l, ls) {
		if !r.OK {
			t.Fatalf("line %d rejected: %+v", i+1, r.Error)
		}
	}
	head, _ := store.Head(context.Background())

	for id, want := range expectedPayments(t, "../domain/cpts/testdata/aci-expected-payments.json") {
		c, err := contractOf(context.Background(), store, uuid.MustParse(id), nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range c.Payments {
			got = append(got, p.Kind+" "+p.DueOn.String()+" "+p.Amount.String())
		}
		samePayments(t, "contract "+id+" from the store", got, want)
	}
	if _, err := eventstore.Verify(context.Background(), store); err != nil {
		t.Fatal(err)
	}

	// A fresh Ledger (as a new process would be) re-submits everything.
	again := app.New(store, app.Options{Schemes: fixture.Schemes()})
	for i, r := range submitAll(t, again, ls) {
		if !r.OK {
			t.Fatalf("re-submitted line %d rejected: %+v", i+1, r.Error)
		}
		if len(r.Events) > 0 && !r.Duplicate {
			t.Fatalf("re-submitted line %d appended %v", i+1, r.Events)
		}
	}
	if h, _ := store.Head(context.Background()); h != head {
		t.Fatalf("re-submitting moved the head from %d to %d", head, h)
	}
}

func TestRejectedCommandWritesNothing(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "events.db"))
	l := app.New(store, app.Options{Schemes: fixture.Schemes()})
	ls := lines(t)
	submitAll(t, l, ls[:1])
	head, _ := store.Head(context.Background())
	var sign map[string]any
	json.Unmarshal(ls[0], &sign)
	for _, bad := range []string{
		`{"type":"StartMission","command_id":"x1","contract_id":"` + sign["contract_id"].(string) + `","mission":"access","started_on":"2019-01-01"}`,
		`{"type":"SignContract",`,
		`{"type":"Nope","command_id":"x2","contract_id":"` + sign["contract_id"].(string) + `"}`,
	} {
		r, err := l.Submit(context.Background(), []byte(bad))
		if err != nil || r.OK || r.Error == nil || r.Error.Code == "" || r.Error.Message == "" {
			t.Fatalf("%s: %+v %v", bad, r, err)
		}
	}
	if h, _ := store.Head(context.Background()); h != head {
		t.Fatalf("rejected commands moved the head from %d to %d", head, h)
	}
}

// Two ledgers (two processes) append to one contract at once: optimistic
// concurrency makes one reload and decide again; nothing is lost.
func TestConcurrentWritersOnOneContract(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	a, b := app.New(openStore(t, path), app.Options{Schemes: fixture.Schemes()}), app.New(openStore(t, path), app.Options{Schemes: fixture.Schemes()})
	id := uuid.New()
	sign := fmt.Sprintf(`{"type":"SignContract","command_id":"sign","contract_id":%q,"cpts":{"id":"c","name":"C"},"ars":"ARS Bretagne","cpam":"P","population":50000,"signed_on":"2020-01-15","missions":["access","pathways","prevention","quality","support"],"snp_regulation":false,"indicators":[{"mission":"access","code":"a","weight":"1","target":"1"},{"mission":"pathways","code":"p","weight":"1","target":"1"},{"mission":"prevention","code":"v","weight":"1","target":"1"},{"mission":"quality","code":"q","weight":"1","target":"1"},{"mission":"support","code":"s","weight":"1","target":"1"}]}`, id)
	if r, err := a.Submit(context.Background(), []byte(sign)); err != nil || !r.OK {
		t.Fatalf("%+v %v", r, err)
	}
	var wg sync.WaitGroup
	for i, m := range []string{"access", "pathways", "prevention", "quality", "support"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := a
			if i%2 == 1 {
				l = b
			}
			line := fmt.Sprintf(`{"type":"StartMission","command_id":"start-%s","contract_id":%q,"mission":%q,"started_on":"2020-02-0%d"}`, m, id, m, i+1)
			if r, err := l.Submit(context.Background(), []byte(line)); err != nil || !r.OK {
				t.Errorf("%s: %+v %v", m, r, err)
			}
		}()
	}
	wg.Wait()
	c, err := contractOf(context.Background(), openStore(t, path), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Starts) != 5 {
		t.Fatalf("%d starts stored, want 5", len(c.Starts))
	}
}

// The same command id sent to two contracts gives distinct events.
func TestSameCommandIDOnTwoContracts(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "events.db"))
	l := app.New(store, app.Options{Schemes: fixture.Schemes()})
	for _, id := range []uuid.UUID{uuid.New(), uuid.New()} {
		line := fmt.Sprintf(`{"type":"SignContract","command_id":"same","contract_id":%q,"cpts":{"id":"c","name":"C"},"ars":"ARS Bretagne","cpam":"P","population":50000,"signed_on":"2020-01-15","missions":["access","pathways","prevention"],"snp_regulation":false,"indicators":[{"mission":"access","code":"a","weight":"1","target":"1"},{"mission":"pathways","code":"p","weight":"1","target":"1"},{"mission":"prevention","code":"v","weight":"1","target":"1"}]}`, id)
		if r, err := l.Submit(context.Background(), []byte(line)); err != nil || !r.OK || r.Duplicate {
			t.Fatalf("%+v %v", r, err)
		}
	}
	all, _ := store.ReadAll(context.Background(), 0, 10)
	if len(all) != 2 || all[0].EventID == all[1].EventID || all[0].Type != cpts.TypeContractSigned {
		t.Fatalf("%d events stored", len(all))
	}
}

// The worked aid lifecycles, submitted through the store, give the expected
// payments; the shared commands find the assistant scheme by its stream.
func TestSubmitAidLifecyclesThroughTheStore(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "events.db"))
	l := app.New(store, app.Options{})
	raw, err := os.ReadFile("../domain/assistant/testdata/aid-lifecycles.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		res, err := l.Submit(context.Background(), line)
		if err != nil || !res.OK {
			t.Fatalf("line %d: %+v %v", i+1, res.Error, err)
		}
	}
	for id, want := range expectedPayments(t, "../domain/assistant/testdata/aid-expected-payments.json") {
		c := assistant.NewContract(uuid.MustParse(id))
		err := app.ReadStream(context.Background(), store, assistant.Default(), assistant.Stream(c.ID), func(_ eventstore.Envelope, e domain.Event) error {
			return c.Apply(e)
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range c.Payments {
			got = append(got, p.Kind+" "+p.DueOn.String()+" "+p.Amount.String())
		}
		samePayments(t, "aid contract "+id, got, want)
	}
	res, err := l.Submit(context.Background(), []byte(`{"type":"DecideDuePayments","command_id":"nobody","contract_id":"`+uuid.NewString()+`","as_of":"2024-01-01"}`))
	if err != nil || res.OK || res.Error.Code != "contract_not_found" {
		t.Fatalf("decide for an unknown contract: %+v %v", res, err)
	}
}

// countingStore counts the stream reads the ledger makes of a real store.
type countingStore struct {
	*embedded.Store
	mu    sync.Mutex
	reads map[string]int
}

func (c *countingStore) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Envelope, error) {
	c.mu.Lock()
	c.reads[stream]++
	c.mu.Unlock()
	return c.Store.ReadStream(ctx, stream, from, limit)
}

// A contract in memory is decided without reading the store: a new
// contract's signature reads nothing (presumed new, the append expecting no
// stream and relying on the claims of the store's streams to refuse an id
// that is another scheme's contract), and later commands read nothing, not
// even to find the scheme of the shared command types. On a store holding a
// stream created without a claim (a file of before claims), a signature
// reads the other scheme's stream of the same id, once. With a cache of two
// contracts, every command still gets the same answer (evicted contracts are
// read again).
func TestCachedContractsAreNotReadAgain(t *testing.T) {
	raw, err := os.ReadFile("../domain/assistant/testdata/aid-lifecycles.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	ls := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	contracts := map[string]bool{}
	for _, line := range ls {
		h, _ := domain.PeekHeader(line)
		contracts[h.ContractID] = true
	}
	outcome := func(cache int, unclaimed bool) ([]string, map[string]int) {
		store := &countingStore{Store: openStore(t, filepath.Join(t.TempDir(), "events.db")), reads: map[string]int{}}
		if unclaimed {
			ev := eventstore.EventData{ID: uuid.New(), Type: "Legacy", SchemaVersion: 1, OccurredOn: "2020-01-01", Actor: "test",
				CommandID: "legacy", CorrelationID: "legacy", CausationID: "legacy", Data: []byte(`{}`)}
			if _, err := store.Append(context.Background(), "legacy-stream", eventstore.NoStream(), []eventstore.EventData{ev}); err != nil {
				t.Fatal(err)
			}
		}
		var out []string
		for _, res := range submitAll(t, app.New(store, app.Options{Schemes: fixture.Schemes(), CacheContracts: cache}), ls) {
			out = append(out, fmt.Sprint(res.OK, res.Events, res.Duplicate))
		}
		return out, store.reads
	}
	all, reads := outcome(len(contracts), false)
	if len(reads) != 0 {
		t.Errorf("every stream claimed: the ledger read %v, want nothing", reads)
	}
	// The first signature learns from its append that a stream claimed
	// nothing, and is read and decided again: its own stream is read once.
	_, reads = outcome(len(contracts), true)
	own := 0
	for stream, n := range reads {
		if !strings.HasPrefix(stream, "cpts-") {
			own++
		}
		if n != 1 || own > 1 {
			t.Errorf("stream %s read %d times, want the CPTS stream of each aid contract once, and one aid stream", stream, n)
		}
	}
	if len(reads) != len(contracts)+1 {
		t.Errorf("a stream claimed nothing: the ledger read %d streams for %d aid contracts: %v", len(reads), len(contracts), reads)
	}
	for _, unclaimed := range []bool{false, true} {
		small, _ := outcome(2, unclaimed)
		if fmt.Sprint(small) != fmt.Sprint(all) {
			t.Fatalf("with a cache of two contracts (a stream claiming nothing: %v):\n%v\nwith every contract cached:\n%v", unclaimed, small, all)
		}
	}
}

// The command path's conformance suite on the embedded store, each ledger
// on its own handle of one file (as two processes would be).
func TestConformance(t *testing.T) {
	apptest.Run(t, func(t *testing.T) apptest.Opener {
		path := filepath.Join(t.TempDir(), "events.db")
		return func() eventstore.Store {
			s, err := embedded.Open(context.Background(), path, embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}

// A command id recorded already answers a retry of the same command as a
// duplicate (whatever the key order and spacing of the line), and refuses
// another command under that id (command_id_reused, naming what the id
// recorded, nothing written), in a ledger that has the contract in memory
// and in one that reads it from the store.
func TestACommandIDNamesOneCommand(t *testing.T) {
	raw, err := os.ReadFile("../examples/t2-contract.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	ls := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	path := filepath.Join(t.TempDir(), "events.db")
	s := openStore(t, path)
	l := app.New(s, app.Options{Actor: "t"})
	for _, line := range ls[:3] {
		if res, err := l.Submit(context.Background(), line); err != nil || !res.OK {
			t.Fatalf("%s: %+v %v", line, res.Error, err)
		}
	}
	var start map[string]any
	if err := json.Unmarshal(ls[1], &start); err != nil {
		t.Fatal(err)
	}
	if start["type"] != "StartMission" {
		t.Fatalf("line 2 is a %v, not a StartMission", start["type"])
	}
	reordered, _ := json.MarshalIndent(start, "", "  ") // another key order and spacing, the same command
	other := map[string]any{}
	for k, v := range start {
		other[k] = v
	}
	other["started_on"] = "2020-03-02"
	changed, _ := json.Marshal(other)
	head, _ := s.Head(context.Background())
	for name, ledger := range map[string]*app.Ledger{"in memory": l, "read from the store": app.New(s, app.Options{Actor: "t"})} {
		res, err := ledger.Submit(context.Background(), bytes.ReplaceAll(reordered, []byte("\n"), nil))
		if err != nil || !res.OK || !res.Duplicate {
			t.Fatalf("%s: the same command again: %+v %v", name, res, err)
		}
		res, err = ledger.Submit(context.Background(), changed)
		if err != nil || res.OK || res.Error == nil || res.Error.Code != domain.CodeCommandIDReused || !strings.Contains(res.Error.Message, "MissionStarted") {
			t.Fatalf("%s: another command under the id: %+v %v", name, res, err)
		}
		// A signature on other terms under the signature's id.
		res, err = ledger.Submit(context.Background(), bytes.Replace(ls[0], []byte(`"population":62000`), []byte(`"population":62001`), 1))
		if err != nil || res.OK || res.Error == nil || res.Error.Code != domain.CodeCommandIDReused || !strings.Contains(res.Error.Message, "ContractSigned") {
			t.Fatalf("%s: another signature under the id: %+v %v", name, res, err)
		}
	}
	if after, _ := s.Head(context.Background()); after != head {
		t.Fatalf("the refused command wrote: head %d, was %d", after, head)
	}
}

// The CPAM limit is checked where the write happens (issue 27, finding 3):
// an agent limited to the CPAM du Loiret terminates an id that another
// CPAM's agent signs in between (the interleaving the red team forced:
// its check ran before the signature, its write after): the termination
// is answered as for an unknown contract and writes nothing; on his own
// CPAM's contract it is applied.
func TestTheCPAMLimitIsCheckedInTheWrite(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "events.db"))
	l := app.New(s, app.Options{})
	ctx := context.Background()
	loiret := app.WithCPAM(ctx, "CPAM du Loiret")
	id := uuid.New()
	terminate := []byte(fmt.Sprintf(`{"type":"TerminateContract","command_id":"end","contract_id":%q,"terminated_on":"2021-05-01","reason":"r"}`, id))
	// Before the signature: no such contract, for him as for anyone.
	if res, err := l.SubmitAs(loiret, "loic", terminate); err != nil || res.OK || res.Error.Code != domain.CodeContractNotFound {
		t.Fatalf("before the signature: %+v %v", res, err)
	}
	// Another CPAM's agent signs it; his termination, sent again, now
	// meets it under the lock.
	rhone := bytes.Replace(apptestSign(id), []byte(`"cpam":"CPAM"`), []byte(`"cpam":"CPAM du Rhône"`), 1)
	if res, err := l.SubmitAs(ctx, "rhona", rhone); err != nil || !res.OK {
		t.Fatalf("the Rhône signature: %+v %v", res, err)
	}
	head, _ := s.Head(ctx)
	for _, ledger := range []*app.Ledger{l, app.New(s, app.Options{})} { // in memory, and read from the store
		res, err := ledger.SubmitAs(loiret, "loic", terminate)
		if err != nil || res.OK || res.Error.Code != domain.CodeContractNotFound || strings.Contains(res.Error.Message, "Rhône") {
			t.Fatalf("terminating the Rhône contract: %+v %v", res, err)
		}
	}
	if after, _ := s.Head(ctx); after != head {
		t.Fatal("the refused termination wrote")
	}
	// His own CPAM's contract: applied.
	own := uuid.New()
	if res, err := l.SubmitAs(loiret, "loic", bytes.Replace(apptestSign(own), []byte(`"cpam":"CPAM"`), []byte(`"cpam":"CPAM du Loiret"`), 1)); err != nil || !res.OK {
		t.Fatalf("his own signature: %+v %v", res, err)
	}
	if res, err := l.SubmitAs(loiret, "loic", bytes.ReplaceAll(terminate, []byte(id.String()), []byte(own.String()))); err != nil || !res.OK {
		t.Fatalf("his own termination: %+v %v", res, err)
	}
}

func apptestSign(id uuid.UUID) []byte { return apptest.SignCPTS("sign-"+id.String()[:8], id) }

// A command dated further after the day it is recorded than the rulebooks
// allow (recording_margin_days, 366) is refused naming its field, and
// writes nothing: an agent decided payments as of 2099-12-01.
func TestCommandsAreNotDatedFarAhead(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "events.db"))
	today := domain.MustDate("2026-12-05")
	l := app.New(s, app.Options{Today: func() domain.Date { return today }})
	ctx := context.Background()
	id := uuid.New()
	if res, err := l.Submit(ctx, apptestSign(id)); err != nil || !res.OK {
		t.Fatalf("%+v %v", res, err)
	}
	head, _ := s.Head(ctx)
	for line, field := range map[string]string{
		fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"far","contract_id":%q,"as_of":"2099-12-01"}`, id):                                                                                                    "as_of",
		fmt.Sprintf(`{"type":"StartMission","command_id":"far2","contract_id":%q,"mission":"access","started_on":"2027-12-07"}`, id):                                                                                "started_on",
		fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"far3","contract_id":%q,"as_of":"\u0032099-12-01"}`, id):                                                                                              "as_of",
		fmt.Sprintf(`{"type":"ValidateLetterOfIntent","command_id":"far4","letter_id":%q,"cpts":{"id":"c","name":"C"},"ars":"ARS Bretagne","cpam":"P","population":50000,"validated_on":"2028-01-01"}`, uuid.New()): "validated_on",
	} {
		res, err := l.Submit(ctx, []byte(line))
		if err != nil || res.OK || res.Error.Code != domain.CodeDateOutOfRange || len(res.Error.Violations) != 1 || res.Error.Violations[0].Field != field {
			t.Fatalf("%s: %+v %v", line, res, err)
		}
	}
	if after, _ := s.Head(ctx); after != head {
		t.Fatal("a command dated far ahead wrote")
	}
	// Within the margin: accepted.
	if res, err := l.Submit(ctx, []byte(fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"near","contract_id":%q,"as_of":"2027-12-06"}`, id))); err != nil || !res.OK {
		t.Fatalf("a decision 366 days ahead: %+v %v", res, err)
	}
}

// Two ledgers (two processes) publish amendments at once, each amendment
// twice under two command ids: optimistic concurrency on the rulebooks
// stream makes each amendment recorded exactly once, the other attempt a
// duplicate_amendment, and nothing is lost.
func TestConcurrentAmendments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	// Both ledgers record on the amendments' publication day.
	on := func() domain.Date { return domain.MustDate("2023-06-15") }
	a, b := app.New(openStore(t, path), app.Options{Today: on}), app.New(openStore(t, path), app.Options{Today: on})
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string][]app.Result{}
	for _, tier := range []string{"T1", "T2", "T4"} {
		for i, l := range []*app.Ledger{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				line := fmt.Sprintf(`{"type":"PublishRulebookAmendment","command_id":"am-%s-%d","amendment_id":"crisis-%s","amends":"aci-2022","effective_on":"2022-04-01","published_on":"2023-06-15","amounts":[{"tier":%q,"mission":"crisis","component":"fixed","amount":"15000"}],"source":"test","reason":"crisis plan"}`, tier, i, tier, tier)
				r, err := l.Submit(context.Background(), []byte(line))
				if err != nil {
					t.Errorf("%s: %v", tier, err)
					return
				}
				mu.Lock()
				results[tier] = append(results[tier], r)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	for tier, rs := range results {
		ok, dup := 0, 0
		for _, r := range rs {
			switch {
			case r.OK && !r.Duplicate:
				ok++
			case !r.OK && r.Error.Code == "duplicate_amendment":
				dup++
			}
		}
		if ok != 1 || dup != 1 {
			t.Fatalf("%s: %+v, want one recorded and one duplicate_amendment", tier, rs)
		}
	}
	got, err := app.New(openStore(t, path), app.Options{}).Reference(context.Background(), cpts.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	if ref := got.(*cpts.Reference); len(ref.Amendments) != 3 {
		t.Fatalf("%d amendments stored, want 3", len(ref.Amendments))
	}
}

// Withdrawing a crisis recognition follows the correction rules: when it
// would take back a supplement decided more than three years before the
// withdrawal's date, it is refused (prescribed), naming the contract, and
// nothing is written; within three years it is recorded.
func TestCrisisWithdrawalIsPrescribedAfterThreeYears(t *testing.T) {
	h := newCrisisHistory(t)
	if r := h.submit(t, "2026-07-02", h.withdrawal("w-late", "2026-07-02")); r.OK || r.Error.Code != "prescribed" || !strings.Contains(r.Error.Message, h.id) {
		t.Fatalf("a withdrawal more than three years after the supplement: %+v", r)
	}
	if r := h.submit(t, "2026-06-30", h.withdrawal("w-in-time", "2026-06-30")); !r.OK {
		t.Fatalf("a withdrawal within three years: %+v", r.Error)
	}
}
