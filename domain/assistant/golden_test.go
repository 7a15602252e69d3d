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

// TestGoldenAidPayments replays the fourteen worked aid lifecycles of the
// brief, then the 2024 rules' lifecycles (computed by hand), and compares
// every payment with the expected file.
func TestGoldenAidPayments(t *testing.T) {
	for _, f := range []struct{ lifecycles, expected string }{
		{"testdata/aid-lifecycles.jsonl", "testdata/aid-expected-payments.json"},
		{"testdata/aid-2024-lifecycles.jsonl", "testdata/aid-2024-expected-payments.json"},
	} {
		t.Run(f.lifecycles, func(t *testing.T) { golden(t, f.lifecycles, f.expected) })
	}
}

func golden(t *testing.T, lifecycles, expectedPath string) {
	contracts := replay(t, lifecycles)
	raw, err := os.ReadFile(expectedPath)
	if err != nil {
		t.Fatal(err)
	}
	type payment struct {
		Kind         string `json:"kind"`
		ContractYear int    `json:"contract_year"`
		DueOn        string `json:"due_on"`
		Amount       string `json:"amount"`
	}
	var doc map[string]json.RawMessage // by contract id; "_comment" says how the figures were found
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "_comment")
	expected := map[string][]payment{}
	for id, r := range doc {
		var ps []payment
		if err := json.Unmarshal(r, &ps); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		expected[id] = ps
	}
	if len(expected) != len(contracts) {
		t.Fatalf("%d contracts replayed, %d expected", len(contracts), len(expected))
	}
	total := 0
	for id, want := range expected {
		c := contracts[uuid.MustParse(id)]
		var got, exp []string
		for _, p := range c.Payments {
			got = append(got, fmt.Sprintf("%s %-22s y%d %12s", p.DueOn, p.Kind, p.ContractYear, p.Amount))
		}
		for _, p := range want {
			exp = append(exp, fmt.Sprintf("%s %-22s y%d %12s", p.DueOn, p.Kind, p.ContractYear, p.Amount))
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
