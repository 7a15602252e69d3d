package gen_test

import (
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
		lines, contracts := gen.National(gen.Options{Seed: seed, Contracts: 1200, Today: domain.MustDate("2026-11-22")})
		state := map[uuid.UUID]*cpts.Contract{}
		for i, line := range lines {
			cmd, err := cpts.DecodeCommand(line)
			if err != nil {
				t.Fatalf("seed %d line %d: %v", seed, i+1, err)
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
			}
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
	for _, c := range state {
		if c.Terms.Option == "1/2" {
			half++
		}
	}
	if len(state) != 2000 || half < 800 || half > 1200 {
		t.Fatalf("%d contracts, %d on 1/2 FTE", len(state), half)
	}
}
