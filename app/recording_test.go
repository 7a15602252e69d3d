package app_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore/embedded"
)

// clock is the ledger's clock in a test: the day it records commands on,
// moved by the test as its history goes by.
type clock struct {
	mu  sync.Mutex
	day domain.Date
}

func (c *clock) set(d string) { c.mu.Lock(); c.day = domain.MustDate(d); c.mu.Unlock() }
func (c *clock) today() domain.Date {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.day
}

// crisisContract is a T3 contract signed on 2022-06-01 with the crisis
// mission, a crisis recognised by its ARS for the winter 2022–2023 and
// year 1 settled on 2023-07-01 (its supplement decided then), each command
// recorded on its own day. It returns the ledger, its clock, the store,
// the contract's id and the recognition's event id.
type crisisHistory struct {
	l           *app.Ledger
	clock       *clock
	s           *embedded.Store
	id          string
	recognition string
}

func newCrisisHistory(t *testing.T) *crisisHistory {
	t.Helper()
	h := &crisisHistory{clock: &clock{}, id: "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e84"}
	h.s = openStore(t, filepath.Join(t.TempDir(), "events.db"))
	h.l = app.New(h.s, app.Options{Today: h.clock.today})
	on := func(day, line string) {
		t.Helper()
		h.clock.set(day)
		if r, err := h.l.Submit(context.Background(), []byte(line)); err != nil || !r.OK {
			t.Fatalf("%s: %+v %v", line, r.Error, err)
		}
	}
	id := h.id
	on("2022-06-01", `{"type":"SignContract","command_id":"s","contract_id":"`+id+`","cpts":{"id":"c","name":"CPTS de la crise"},"ars":"ARS Centre-Val de Loire","cpam":"CPAM Test","population":100000,"signed_on":"2022-06-01","missions":["access","pathways","prevention","crisis"],"snp_regulation":false,"indicators":[{"mission":"access","code":"a","weight":"1","target":"1"},{"mission":"pathways","code":"p","weight":"1","target":"1"},{"mission":"prevention","code":"v","weight":"1","target":"1"}]}`)
	for _, m := range []string{"access", "pathways", "prevention", "crisis"} {
		on("2022-06-01", `{"type":"StartMission","command_id":"start-`+m+`","contract_id":"`+id+`","mission":"`+m+`","started_on":"2022-06-01"}`)
	}
	on("2022-12-01", `{"type":"RecogniseCrisis","command_id":"cr","ars":"ARS Centre-Val de Loire","from":"2022-10-01","to":"2023-03-31","recognised_on":"2022-12-01","reason":"épidémies"}`)
	on("2023-06-15", `{"type":"ReportIndicators","command_id":"r1","contract_id":"`+id+`","contract_year":1,"reported_on":"2023-06-15","values":[{"mission":"access","code":"a","value":"1"},{"mission":"pathways","code":"p","value":"1"},{"mission":"prevention","code":"v","value":"1"}]}`)
	on("2023-07-01", `{"type":"DecideDuePayments","command_id":"d1","contract_id":"`+id+`","as_of":"2023-07-01"}`)
	h.recognition = app.EventID("crises-cpts", "cr", 0).String()
	return h
}

// submit records line today and returns the result, checking that a
// refusal wrote nothing.
func (h *crisisHistory) submit(t *testing.T, today, line string) app.Result {
	t.Helper()
	h.clock.set(today)
	ctx := context.Background()
	head, _ := h.s.Head(ctx)
	r, err := h.l.Submit(ctx, []byte(line))
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if after, _ := h.s.Head(ctx); !r.OK && after != head {
		t.Fatalf("a refused command wrote events (head %d → %d): %s", head, after, line)
	}
	return r
}

func (h *crisisHistory) withdrawal(commandID, on string) string {
	return `{"type":"CorrectCrisisRecognition","command_id":"` + commandID + `","corrects":"` + h.recognition + `","from":"2022-10-01","to":"2023-03-31","withdrawn":true,"corrected_on":"` + on + `","reason":"recognised by mistake"}`
}

func zeroT3Crisis(commandID, publishedOn string, retroactive bool) string {
	return fmt.Sprintf(`{"type":"PublishRulebookAmendment","command_id":%q,"amendment_id":"t3-crisis-zero-%s","amends":"aci-2022","effective_on":"2022-04-01","published_on":%q,"retroactive":%t,"amounts":[{"tier":"T3","mission":"crisis","component":"fixed","amount":"0"},{"tier":"T3","mission":"crisis","component":"crisis_supplement","amount":"0"}],"source":"test","reason":"a zeroed crisis"}`,
		commandID, commandID, publishedOn, retroactive)
}

func wantCode(t *testing.T, what string, r app.Result, code, field string) {
	t.Helper()
	if r.OK || r.Error == nil || r.Error.Code != code {
		t.Fatalf("%s: %+v, want %s", what, r.Error, code)
	}
	if field != "" && (len(r.Error.Violations) == 0 || r.Error.Violations[0].Field != field) {
		t.Fatalf("%s: violations %+v, want the field %s named", what, r.Error.Violations, field)
	}
}

// The red team's findings: recorded on 2026-12-06, an amendment dated
// 2022-04-01 zeroing T3's crisis amounts, and a withdrawal of a crisis
// recognition dated 2023-03-01 — before the supplement decided on
// 2023-07-01 it would take back — were accepted, and the next decision
// recovered money decided more than three years before. Both are refused
// now (backdated), writing nothing; sent with their true date they are
// prescribed, as they were when sent honestly.
func TestBackdatedActsAreRefused(t *testing.T) {
	h := newCrisisHistory(t)
	const today = "2026-12-06"
	wantCode(t, "an amendment back-dated to 2022-04-01", h.submit(t, today, zeroT3Crisis("zero-backdated", "2022-04-01", false)), domain.CodeBackdated, "published_on")
	wantCode(t, "the same amendment dated today, retroactive", h.submit(t, today, zeroT3Crisis("zero-today", today, true)), domain.CodePrescribed, "")
	wantCode(t, "a withdrawal dated 2023-03-01", h.submit(t, today, h.withdrawal("w-backdated", "2023-03-01")), domain.CodeBackdated, "corrected_on")
	wantCode(t, "the same withdrawal dated today", h.submit(t, today, h.withdrawal("w-today", today)), domain.CodePrescribed, "")
	wantCode(t, "a recognition dated a year ago", h.submit(t, today, `{"type":"RecogniseCrisis","command_id":"cr-old","ars":"ARS Centre-Val de Loire","from":"2025-10-01","to":"2025-12-31","recognised_on":"2025-12-01","reason":"épidémies"}`), domain.CodeBackdated, "recognised_on")
	wantCode(t, "a correction of the contract's terms dated 2023-01-01", h.submit(t, today, `{"type":"CorrectContractTerms","command_id":"terms","contract_id":"`+h.id+`","corrects":"`+app.EventID("cpts-"+h.id, "s", 0).String()+`","population":30000,"corrected_on":"2023-01-01","reason":"population"}`), domain.CodeBackdated, "corrected_on")
	// A termination is a fact: dated 2023-01-01 it is judged on the day it
	// is recorded, and what it would take back of year 1 (decided
	// 2023-07-01) is prescribed on 2026-12-06, not on 2023-01-01.
	wantCode(t, "a termination dated 2023-01-01, recorded today", h.submit(t, today, `{"type":"TerminateContract","command_id":"end","contract_id":"`+h.id+`","terminated_on":"2023-01-01","reason":"dissolved"}`), domain.CodePrescribed, "")
	// Within three years of the supplement, the honest withdrawal is
	// recorded.
	if r := h.submit(t, "2026-06-30", h.withdrawal("w-in-time", "2026-06-30")); !r.OK {
		t.Fatalf("a withdrawal within three years, dated the day it is recorded: %+v", r.Error)
	}
}

// Property: for every command that carries the date of its act, dating
// that act before the day it is recorded never widens what the ledger
// allows — the command is refused (backdated) and writes nothing, whatever
// the same command dated on its recording day would have given.
func TestPropertyBackdatingNeverWidensWhatIsAllowed(t *testing.T) {
	h := newCrisisHistory(t)
	commands := map[string]func(id, on string) string{
		"PublishRulebookAmendment": func(id, on string) string { return zeroT3Crisis(id, on, true) },
		"RecogniseCrisis": func(id, on string) string {
			return `{"type":"RecogniseCrisis","command_id":"` + id + `","ars":"ARS Occitanie","from":"2024-01-01","to":"2024-02-01","recognised_on":"` + on + `","reason":"r"}`
		},
		"CorrectCrisisRecognition": h.withdrawal,
		"CorrectContractTerms": func(id, on string) string {
			return `{"type":"CorrectContractTerms","command_id":"` + id + `","contract_id":"` + h.id + `","corrects":"` + app.EventID("cpts-"+h.id, "s", 0).String() + `","population":30000,"corrected_on":"` + on + `","reason":"population"}`
		},
		"CorrectReport": func(id, on string) string {
			return `{"type":"CorrectReport","command_id":"` + id + `","contract_id":"` + h.id + `","corrects":"` + app.EventID("cpts-"+h.id, "r1", 0).String() + `","corrected_on":"` + on + `","values":[{"mission":"access","code":"a","value":"0"},{"mission":"pathways","code":"p","value":"0"},{"mission":"prevention","code":"v","value":"0"}],"reason":"r"}`
		},
		"CorrectMissionDate": func(id, on string) string {
			return `{"type":"CorrectMissionDate","command_id":"` + id + `","contract_id":"` + h.id + `","corrects":"` + app.EventID("cpts-"+h.id, "start-access", 0).String() + `","date":"2022-07-01","corrected_on":"` + on + `","reason":"r"}`
		},
		"CorrectTermination": func(id, on string) string {
			return `{"type":"CorrectTermination","command_id":"` + id + `","contract_id":"` + h.id + `","corrects":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e99","terminated_on":"2024-01-01","corrected_on":"` + on + `","reason":"r"}`
		},
		"CorrectPatientele": func(id, on string) string {
			return `{"type":"CorrectPatientele","command_id":"` + id + `","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e98","corrects":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e97","patientele":900,"corrected_on":"` + on + `","reason":"r"}`
		},
		"CorrectHiring": func(id, on string) string {
			return `{"type":"CorrectHiring","command_id":"` + id + `","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e98","corrects":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e96","hired_on":"2023-02-01","corrected_on":"` + on + `","reason":"r"}`
		},
	}
	names := slices.Sorted(maps.Keys(commands))
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		name := rapid.SampledFrom(names).Draw(rt, "command")
		recorded := domain.MustDate("2023-07-02").AddDays(rapid.IntRange(0, 1600).Draw(rt, "recorded, days after 2023-07-02"))
		back := rapid.IntRange(1, 1000).Draw(rt, "days back-dated")
		n++
		id := fmt.Sprintf("p%d", n)
		r := h.submit(t, recorded.String(), commands[name](id, recorded.AddDays(-back).String()))
		if r.OK || r.Error.Code != domain.CodeBackdated {
			rt.Fatalf("%s dated %d days before %s: %+v, want backdated", name, back, recorded, r.Error)
		}
		if !strings.Contains(r.Error.Message, recorded.String()) {
			rt.Fatalf("the refusal does not name the recording day %s: %s", recorded, r.Error.Message)
		}
	})
}

// The ARS are reference data through the command path: a contract signed
// with "ars centre-val de loire" is recorded under the official name, a
// crisis recognised as " ARS  Centre-Val de Loire" reaches it (the next
// decision notes it), and a look-alike (a Cyrillic "а") is refused naming
// the closest agency, writing nothing.
func TestTheARSOfACommandIsOneOfTheAgencies(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "events.db"))
	l := app.New(s, app.Options{ReplayHistory: true})
	id := "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e85"
	for _, line := range []string{
		`{"type":"SignContract","command_id":"s","contract_id":"` + id + `","cpts":{"id":"c","name":"CPTS"},"ars":"ars centre-val de loire","cpam":"CPAM Test","population":100000,"signed_on":"2022-06-01","missions":["access","pathways","prevention","crisis"],"snp_regulation":false,"indicators":[{"mission":"access","code":"a","weight":"1","target":"1"},{"mission":"pathways","code":"p","weight":"1","target":"1"},{"mission":"prevention","code":"v","weight":"1","target":"1"}]}`,
		`{"type":"StartMission","command_id":"m","contract_id":"` + id + `","mission":"crisis","started_on":"2022-06-01"}`,
		`{"type":"RecogniseCrisis","command_id":"cr","ars":" ARS  Centre-Val de\u00a0Loire","from":"2022-10-01","to":"2023-03-31","recognised_on":"2022-12-01","reason":"épidémies"}`,
		`{"type":"DecideDuePayments","command_id":"d","contract_id":"` + id + `","as_of":"2022-12-31"}`,
	} {
		r, err := l.Submit(ctx, []byte(line))
		if err != nil || !r.OK {
			t.Fatalf("%s: %+v %v", line, r.Error, err)
		}
		if strings.Contains(line, `"DecideDuePayments"`) && !slices.Contains(r.Events, "CrisisNoted") {
			t.Fatalf("the decision did not note the crisis of the contract's ARS: %v", r.Events)
		}
	}
	c, err := contractOf(ctx, s, uuid.MustParse(id), nil)
	if err != nil || c.Terms.ARS != "ARS Centre-Val de Loire" {
		t.Fatalf("the contract's ARS: %q %v", c.Terms.ARS, err)
	}
	head, _ := s.Head(ctx)
	r, err := l.Submit(ctx, []byte(`{"type":"RecogniseCrisis","command_id":"cr2","ars":"ARS Centre-V\u0430l de Loire","from":"2023-10-01","to":"2024-03-31","recognised_on":"2023-12-01","reason":"épidémies"}`))
	if err != nil || r.OK || r.Error.Code != "unknown_ars" || !strings.Contains(r.Error.Message, `did you mean "ARS Centre-Val de Loire"`) {
		t.Fatalf("a look-alike ARS: %+v %v", r.Error, err)
	}
	if after, _ := s.Head(ctx); after != head {
		t.Fatal("a refused recognition wrote")
	}
}

// Submitting again is safe, also the next day: a recorded act sent again
// after its recording day is a duplicate, not a back-dated act — whether a
// reference fact or a contract's correction. The same command id with
// another act is command_id_reused, and a new one back-dated is refused.
func TestARecordedActSentAgainLaterIsADuplicate(t *testing.T) {
	h := newCrisisHistory(t)
	withdrawal := h.withdrawal("w", "2026-06-30")
	terms := `{"type":"CorrectContractTerms","command_id":"terms","contract_id":"` + h.id + `","corrects":"` + app.EventID("cpts-"+h.id, "s", 0).String() + `","population":150000,"corrected_on":"2026-06-30","reason":"population"}`
	for _, line := range []string{withdrawal, terms} {
		if r := h.submit(t, "2026-06-30", line); !r.OK || r.Duplicate {
			t.Fatalf("recorded on its day: %+v", r.Error)
		}
		r := h.submit(t, "2026-07-15", line)
		if !r.OK || !r.Duplicate {
			t.Fatalf("sent again a fortnight later: %+v %+v", r, r.Error)
		}
	}
	other := strings.Replace(terms, `"population":150000`, `"population":160000`, 1)
	wantCode(t, "the same command id, another act", h.submit(t, "2026-07-15", other), domain.CodeCommandIDReused, "command_id")
	wantCode(t, "a new command, back-dated", h.submit(t, "2026-07-15", strings.Replace(other, `"terms"`, `"terms-2"`, 1)), domain.CodeBackdated, "corrected_on")
}
