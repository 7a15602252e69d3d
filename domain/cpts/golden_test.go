package cpts_test

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/google/uuid"
)

// replay applies command lines in order, each through DecodeCommand, Decide
// and Apply, and returns the contracts. It plays the command path's part
// for corrections: each command's first event gets an id (the UUIDv5 of its
// command id), a "@<command_id>" in a correction's corrects stands for it,
// and a correction's target is resolved before Decide.
func replay(t *testing.T, path string) map[uuid.UUID]*cpts.Contract {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	contracts := map[uuid.UUID]*cpts.Contract{}
	refs := map[uuid.UUID]domain.EventRef{}
	ref := regexp.MustCompile(`"@([^"]+)"`)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		raw := ref.ReplaceAllFunc(sc.Bytes(), func(m []byte) []byte {
			return []byte(`"` + eventIDOf(string(m[2:len(m)-1])).String() + `"`)
		})
		cmd, err := cpts.DecodeCommand(raw)
		if err != nil {
			t.Fatalf("line %d: decode: %v", line, err)
		}
		id := cmd.Meta().ContractID
		c := contracts[id]
		if c == nil {
			c = cpts.NewContractWith(id, cpts.ExamplesRules())
			contracts[id] = c
		}
		if corr, ok := cmd.(domain.Correction); ok {
			m := corr.Correction()
			m.Target = refs[m.Corrects]
			if m.Target.Found && cmd.Meta().ContractID != id {
				m.Target.Found, m.Target.OtherStream = false, "another contract"
			}
		}
		events, err := cpts.Decide(c, cmd)
		if err != nil {
			t.Fatalf("line %d (%s %s): rejected: %v", line, cmd.CommandType(), cmd.Meta().CommandID, err)
		}
		for _, e := range events {
			if err := c.Apply(e); err != nil {
				t.Fatalf("line %d: apply: %v", line, err)
			}
		}
		if len(events) > 0 {
			refs[eventIDOf(cmd.Meta().CommandID)] = domain.EventRef{ID: eventIDOf(cmd.Meta().CommandID), Found: true,
				Type: events[0].EventType(), OccurredOn: events[0].BusinessDate(), Event: events[0]}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return contracts
}

// eventIDOf is the id replay gives a command's first event.
func eventIDOf(commandID string) uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(commandID))
}

type expectedPayment struct {
	Kind         string  `json:"kind"`
	ContractYear int     `json:"contract_year"`
	Mission      *string `json:"mission"`
	DueOn        string  `json:"due_on"`
	Status       string  `json:"status"`
	Amount       string  `json:"amount"`
}

func (p expectedPayment) String() string {
	m := ""
	if p.Mission != nil {
		m = *p.Mission
	}
	return fmt.Sprintf("%-21s y%d %-10s due %s %-8s %10s", p.Kind, p.ContractYear, m, p.DueOn, p.Status, p.Amount)
}

// TestGoldenPayments replays the sixteen worked lifecycles of
// testdata/aci-lifecycles.jsonl and compares every decided payment with
// testdata/aci-expected-payments.json, computed independently.
func TestGoldenPayments(t *testing.T) {
	contracts := replay(t, "testdata/aci-lifecycles.jsonl")
	raw, err := os.ReadFile("testdata/aci-expected-payments.json")
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string][]expectedPayment
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	if len(expected) != len(contracts) {
		t.Fatalf("%d contracts replayed, %d expected", len(contracts), len(expected))
	}
	for id, want := range expected {
		c := contracts[uuid.MustParse(id)]
		var got []expectedPayment
		for _, p := range c.Payments {
			var m *string
			if p.Mission != "" {
				m = &p.Mission
			}
			got = append(got, expectedPayment{p.Kind, p.ContractYear, m, p.DueOn.String(), p.Status, p.Amount.String()})
		}
		key := func(p expectedPayment) string { return p.DueOn + p.Kind + fmt.Sprint(p.ContractYear) + p.String() }
		slices.SortFunc(got, func(a, b expectedPayment) int { return strings.Compare(key(a), key(b)) })
		slices.SortFunc(want, func(a, b expectedPayment) int { return strings.Compare(key(a), key(b)) })
		gs, ws := fmt.Sprint(got), fmt.Sprint(want)
		if gs != ws {
			var diff strings.Builder
			for i := 0; i < max(len(got), len(want)); i++ {
				var g, w string
				if i < len(got) {
					g = got[i].String()
				}
				if i < len(want) {
					w = want[i].String()
				}
				mark := "  "
				if g != w {
					mark = "!!"
				}
				fmt.Fprintf(&diff, "%s got  %s\n   want %s\n", mark, g, w)
			}
			t.Errorf("contract %s (%s, %s, signed %s):\n%s", id, c.Terms.CPTS.Name, c.Terms.Tier, c.Terms.SignedOn, diff.String())
		}
	}
}

// TestGoldenAlerts compares the deadline alerts at each date of
// testdata/aci-expected-alerts.json (60-day window).
func TestGoldenAlerts(t *testing.T) {
	contracts := replay(t, "testdata/aci-lifecycles.jsonl")
	expected := expectedAlerts(t)
	for date, want := range expected {
		asOf := domain.MustDate(date)
		var got []cpts.Alert
		for _, c := range contracts {
			got = append(got, c.Alerts(asOf, 60)...)
		}
		key := func(a cpts.Alert) string {
			return fmt.Sprintf("%s %s %s %d %s %s", a.ContractID, a.Mission, a.Kind, a.Months, a.Deadline, a.Status)
		}
		gk, wk := make([]string, len(got)), make([]string, len(want))
		for i := range got {
			gk[i] = key(got[i])
		}
		for i := range want {
			wk[i] = key(want[i])
		}
		slices.Sort(gk)
		slices.Sort(wk)
		if !slices.Equal(gk, wk) {
			t.Errorf("alerts as of %s differ:\n got  %d: %s\n want %d: %s", date, len(gk), strings.Join(gk, "\n      "), len(wk), strings.Join(wk, "\n      "))
		}
	}
}

// TestGoldenRegularisations replays the sixty lifecycles of
// testdata/aci-corrections.jsonl, whose ten corrections (revised year-1
// values, an access start moved 20 days later) are each followed by a
// DecideDuePayments, and compares every regularisation with
// testdata/aci-expected-regularisations.json, computed independently: for
// each settled year, what is due under the corrected facts minus what was
// decided. Every other payment is the one the lifecycle decides without
// the corrections.
func TestGoldenRegularisations(t *testing.T) {
	with := replay(t, "testdata/aci-corrections.jsonl")
	raw, err := os.ReadFile("testdata/aci-corrections.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var plain []string
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if !strings.Contains(l, `"type": "Correct`) {
			plain = append(plain, l)
		}
	}
	path := t.TempDir() + "/without-corrections.jsonl"
	os.WriteFile(path, []byte(strings.Join(plain, "\n")+"\n"), 0o644)
	without := replay(t, path)

	raw, err = os.ReadFile("testdata/aci-expected-regularisations.json")
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string]struct {
		Regularisations []expectedPayment `json:"regularisations"`
	}
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for id, c := range with {
		var got, others []string
		for _, p := range c.Payments {
			if p.Kind == domain.KindRegularisation {
				got = append(got, fmt.Sprintf("y%d due %s %s", p.ContractYear, p.DueOn, p.Amount))
				if !p.Amount.Equal(domain.Sum(p.Lines)) || p.Reason == "" || len(p.Corrects) == 0 {
					t.Errorf("%s: regularisation %+v: amount not the sum of its lines, or no reason or corrects", id, p)
				}
				continue
			}
			others = append(others, fmt.Sprint(p.Kind, p.ContractYear, p.Mission, p.DueOn, p.Amount, p.Status))
		}
		var want []string
		for _, r := range expected[id.String()].Regularisations {
			want = append(want, fmt.Sprintf("y%d due %s %s", r.ContractYear, r.DueOn, r.Amount))
		}
		if !slices.Equal(got, want) {
			t.Errorf("contract %s: regularisations\n got  %v\n want %v", id, got, want)
		}
		checked += len(want)
		var before []string
		for _, p := range without[id].Payments {
			before = append(before, fmt.Sprint(p.Kind, p.ContractYear, p.Mission, p.DueOn, p.Amount, p.Status))
		}
		if !slices.Equal(others, before) {
			t.Errorf("contract %s: the corrections changed other payments:\n with    %v\n without %v", id, others, before)
		}
	}
	if checked != 10 || len(expected) != 10 {
		t.Fatalf("checked %d regularisations of %d contracts", checked, len(expected))
	}
}

// expectedAlerts reads the hand-computed alerts, by as-of date.
func expectedAlerts(t *testing.T) map[string][]cpts.Alert {
	t.Helper()
	raw, err := os.ReadFile("testdata/aci-expected-alerts.json")
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string][]cpts.Alert
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	return expected
}

// A contract's next deadline (NextAlert) is, among its alerts of
// testdata/aci-expected-alerts.json (computed by hand), the earliest still
// open — by date, then mission and kind — and there is none when none is
// open.
func TestGoldenNextAlert(t *testing.T) {
	contracts := replay(t, "testdata/aci-lifecycles.jsonl")
	expected := expectedAlerts(t)
	checked := 0
	for date, want := range expected {
		asOf := domain.MustDate(date)
		for _, c := range contracts {
			var open []cpts.Alert
			for _, a := range want {
				if a.ContractID == c.ID && (a.Status == cpts.AlertOverdue || a.Status == cpts.AlertDueSoon || a.Status == cpts.AlertPending) {
					open = append(open, a)
				}
			}
			slices.SortFunc(open, func(a, b cpts.Alert) int {
				return cmp.Or(a.Deadline.Compare(b.Deadline), strings.Compare(a.Mission, b.Mission), strings.Compare(a.Kind, b.Kind))
			})
			got, ok := c.NextAlert(asOf, 60)
			switch {
			case len(open) == 0 && ok:
				t.Errorf("%s as of %s: next %+v, want none", c.ID, date, got)
			case len(open) > 0 && (!ok || got != open[0]):
				t.Errorf("%s as of %s: next %+v (%v), want %+v", c.ID, date, got, ok, open[0])
			}
			checked += len(open)
		}
	}
	if checked == 0 {
		t.Fatal("no open alert in the expected file")
	}
}
