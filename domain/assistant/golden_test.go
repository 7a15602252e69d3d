package assistant_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/google/uuid"
)

func replay(t *testing.T, path string) map[uuid.UUID]*assistant.Contract {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	contracts := map[uuid.UUID]*assistant.Contract{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		cmd, err := assistant.DecodeCommand(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: decode: %v", line, err)
		}
		id := cmd.Meta().ContractID
		if contracts[id] == nil {
			contracts[id] = assistant.NewContract(id)
		}
		events, err := assistant.Decide(contracts[id], cmd)
		if err != nil {
			t.Fatalf("line %d (%s): rejected: %v", line, cmd.CommandType(), err)
		}
		for _, e := range events {
			if err := contracts[id].Apply(e); err != nil {
				t.Fatal(err)
			}
		}
	}
	return contracts
}

// TestGoldenAidPayments replays the fourteen worked aid lifecycles and
// compares every payment with testdata/aid-expected-payments.json.
func TestGoldenAidPayments(t *testing.T) {
	contracts := replay(t, "testdata/aid-lifecycles.jsonl")
	raw, err := os.ReadFile("testdata/aid-expected-payments.json")
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string][]struct {
		Kind         string `json:"kind"`
		ContractYear int    `json:"contract_year"`
		DueOn        string `json:"due_on"`
		Amount       string `json:"amount"`
	}
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	if len(expected) != len(contracts) {
		t.Fatalf("%d contracts replayed, %d expected", len(contracts), len(expected))
	}
	total := 0
	for id, want := range expected {
		c := contracts[uuid.MustParse(id)]
		var got, exp []string
		for _, p := range c.Payments {
			got = append(got, fmt.Sprintf("%s %-14s y%d %12s", p.DueOn, p.Kind, p.ContractYear, p.Amount))
		}
		for _, p := range want {
			exp = append(exp, fmt.Sprintf("%s %-14s y%d %12s", p.DueOn, p.Kind, p.ContractYear, p.Amount))
		}
		slices.Sort(got)
		slices.Sort(exp)
		total += len(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("contract %s (%s, %s, %s, signed %s):\n got  %s\n want %s", id, c.Terms.Rulebook, c.Terms.Option, c.Terms.Band,
				c.Terms.SignedOn, strings.Join(got, "\n      "), strings.Join(exp, "\n      "))
		}
	}
	t.Logf("%d payments compared", total)
}
