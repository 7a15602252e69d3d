package textout

import (
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/query"
)

func TestGrouping(t *testing.T) {
	for in, want := range map[string]string{"0": "0.00", "999.5": "999.50", "1000": "1 000.00", "-1234567.89": "-1 234 567.89"} {
		if got := GroupThousands(domain.MustMoney(in)); got != want {
			t.Errorf("GroupThousands(%s) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[int]string{0: "0", 40000: "40 000", 175000: "175 000", -1200: "-1 200"} {
		if got := GroupInt(in); got != want {
			t.Errorf("GroupInt(%d) = %q, want %q", in, got, want)
		}
	}
}

// A table's lines carry no trailing space, and its columns are aligned.
func TestTableTrimsTrailingSpaces(t *testing.T) {
	var b strings.Builder
	tw := NewTable(&b)
	tw.Write([]byte("A\tBB\t\nCCC\tD\t\n"))
	tw.Flush()
	if got, want := b.String(), "A    BB\nCCC  D\n"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

// "1 signed checkpoint matches", "2 signed checkpoints match".
func TestVerifiedAgrees(t *testing.T) {
	for n, want := range map[int]string{1: "1 signed checkpoint matches the log", 2: "2 signed checkpoints match the log"} {
		var b strings.Builder
		Verified(&b, notary.LogReport{VerifyReport: eventstore.VerifyReport{Events: 3, Streams: 1, Head: 3}, Checkpoints: n}, n, nil)
		if !strings.Contains(b.String(), want) {
			t.Errorf("%d checkpoints: %q", n, b.String())
		}
	}
	var b strings.Builder
	Contracts(&b, &b, query.ContractPage{Total: 1, From: 1, Contracts: []query.ContractSummary{{}}})
	if !strings.Contains(b.String(), "1 contract matches\n") {
		t.Errorf("one contract: %q", b.String())
	}
}
