package gen_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/internal/gen"
	"github.com/google/uuid"
)

// Every generated command is valid: the domain accepts all of them, for
// several seeds, and signatures follow the published counts.
func TestGeneratedHistoriesAreValid(t *testing.T) {
	for _, seed := range []uint64{1, 2019} {
		raw, contracts := gen.National(gen.Options{Seed: seed, Contracts: 1200, Today: domain.MustDate("2026-11-22")})
		supplements, published, _ := replay(t, seed, raw)
		// The demo's history shows crisis payments: supplements for the
		// recognised crisis, and lines paid from the published amendment.
		if supplements == 0 || published == 0 {
			t.Fatalf("seed %d: %d crisis supplements, %d lines from the amendment", seed, supplements, published)
		}
		by2020 := 0
		for _, c := range contracts {
			if !c.SignedOn.After(domain.MustDate("2020-12-31")) {
				by2020++
			}
		}
		// 30 of 700 by the end of 2020, scaled to 1200: about 51.
		if by2020 < 30 || by2020 > 75 || len(contracts) != 1200 {
			t.Fatalf("seed %d: %d of %d contracts signed by 2020", seed, by2020, len(contracts))
		}
	}
}

// Decided every month, the generated history withholds the crisis lines of
// T1, T2 and T4 before the amendment that publishes their amounts.
func TestGeneratedHistoryWithholdsUnpublishedAmounts(t *testing.T) {
	raw, _ := gen.National(gen.Options{Seed: 7, Contracts: 150, Today: domain.MustDate("2026-11-22"), DecideMonthly: true})
	if _, published, withheld := replay(t, 7, raw); published == 0 || withheld == 0 {
		t.Fatalf("%d lines from the amendment, %d withheld lines", published, withheld)
	}
}

// replay decides every line of a generated history, failing on a
// rejection, and counts the crisis lines decided.
func replay(t *testing.T, seed uint64, raw [][]byte) (supplements, published, withheld int) {
	t.Helper()
	state := map[uuid.UUID]*cpts.Contract{}
	ref := &cpts.Reference{}
	for i, line := range raw {
		if h, _ := domain.PeekHeader(line); slices.Contains(cpts.ReferenceCommands(), h.Type) {
			cmd, err := cpts.DecodeReferenceCommand(line, cpts.DefaultRules().Calendar())
			if err != nil {
				t.Fatalf("seed %d line %d: %v", seed, i+1, err)
			}
			events, err := cpts.DecideReference(ref, cpts.DefaultRules(), cmd)
			if err != nil {
				t.Fatalf("seed %d line %d rejected: %s\n%v", seed, i+1, line, err)
			}
			for j, e := range events {
				if err := ref.Apply(uuid.NewSHA1(uuid.Nil, fmt.Appendf(nil, "%d/%d", i, j)), e); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		cmd, err := cpts.DecodeCommand(line)
		if err != nil {
			t.Fatalf("seed %d line %d: %v", seed, i+1, err)
		}
		if d, ok := cmd.(domain.DecideDuePayments); ok {
			d.Reference = ref.Copy()
			cmd = d
		}
		id := cmd.Meta().ContractID
		if state[id] == nil {
			state[id] = cpts.NewContract(id)
		}
		events, err := cpts.Decide(state[id], cmd)
		if err != nil {
			t.Fatalf("seed %d line %d rejected: %s\n%v", seed, i+1, line, err)
		}
		for _, e := range events {
			state[id].Apply(e)
			p, ok := e.(domain.PaymentDecided)
			for _, l := range p.Lines {
				switch {
				case !ok:
				case l.Component == cpts.ComponentCrisisSupplement && l.Withheld == nil:
					supplements++
				case l.Mission == cpts.MissionCrisis && l.Amendment != nil:
					published++
				case l.Withheld != nil:
					withheld++
				}
			}
		}
	}
	return supplements, published, withheld
}

// Every generated aid command is valid under the rulebook in force.
func TestGeneratedAidHistoriesAreValid(t *testing.T) {
	lines := gen.Aid(gen.AidOptions{Seed: 5, Contracts: 2000, Today: domain.MustDate("2026-11-22"), DecideQuarterly: true})
	state := map[uuid.UUID]*assistant.Contract{}
	half := 0
	for i, line := range lines {
		cmd, err := assistant.DecodeCommand(line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		id := cmd.Meta().ContractID
		if state[id] == nil {
			state[id] = assistant.NewContract(id)
		}
		events, err := assistant.Decide(state[id], cmd)
		if err != nil {
			t.Fatalf("line %d rejected: %s\n%v", i+1, line, err)
		}
		for _, e := range events {
			state[id].Apply(e)
		}
	}
	extended, committed, joined := 0, 0, 0
	for _, c := range state {
		if c.Terms.Option == "1/2" {
			half++
		}
		if c.Extension != nil {
			extended++
		}
		if cm := c.Commitment(); cm != nil {
			committed++
			if !cm.Done.IsZero() {
				joined++
			}
		}
	}
	if len(state) != 2000 || half < 800 || half > 1200 {
		t.Fatalf("%d contracts, %d on 1/2 FTE", len(state), half)
	}
	// The 2024 rules and avenant 7's commitment are in the history too.
	t.Logf("%d contracts extended, %d signed without a coordinated practice (%d joined one)", extended, committed, joined)
	if extended < 10 || committed < 50 || joined == committed || joined == 0 {
		t.Fatalf("%d contracts extended, %d signed without a coordinated practice (%d joined one)", extended, committed, joined)
	}
}
