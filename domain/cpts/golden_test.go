package cpts_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/google/uuid"
)

// replay applies command lines in order, each through DecodeCommand, Decide
// and Apply, and returns the contracts.
func replay(t *testing.T, path string) map[uuid.UUID]*cpts.Contract {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	contracts := map[uuid.UUID]*cpts.Contract{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		cmd, err := cpts.DecodeCommand(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: decode: %v", line, err)
		}
		id := cmd.Meta().ContractID
		c := contracts[id]
		if c == nil {
			c = cpts.NewContract(id)
			contracts[id] = c
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
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return contracts
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
	raw, err := os.ReadFile("testdata/aci-expected-alerts.json")
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string][]cpts.Alert
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
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
