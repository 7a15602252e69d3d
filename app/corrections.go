package app

import (
	"context"
	"fmt"

	"github.com/cptsledger/ledger/domain"
)

// UpgradeActor is the identity the upgrade records the corrections of
// rule data under (RecordRuleCorrections).
const UpgradeActor = "ledger-upgrade"

// RuleCorrectionRecorded is a correction of rule data recorded, and the
// contracts decided with the figure it corrects.
type RuleCorrectionRecorded struct {
	Result
	Contracts int `json:"contracts"`
}

// RecordRuleCorrections records, once, each correction of its rule data a
// scheme names (domain.RuleCorrections) when at least one contract of the
// ledger was decided with the figure it corrects — a ledger upgraded from
// a release that held the old figure. It is published on the ledger's
// recording day, through the command path (validation, idempotency by its
// fixed command id, durability), under UpgradeActor; each such contract's
// next decision notes it and regularises. Nothing is recorded in a ledger
// none of whose contracts needs it (a new one).
func (l *Ledger) RecordRuleCorrections(ctx context.Context) ([]RuleCorrectionRecorded, error) {
	var out []RuleCorrectionRecorded
	for _, s := range l.opts.Schemes {
		rf, ok := s.(domain.ReferenceFacts)
		rc, corrects := s.(domain.RuleCorrections)
		if !ok || !corrects {
			continue
		}
		for _, c := range rc.RuleCorrections(l.today()) {
			n, err := l.needing(ctx, rf, c)
			if err != nil || n == 0 {
				if err != nil {
					return out, err
				}
				continue
			}
			res, err := l.SubmitAs(ctx, UpgradeActor, c.Line)
			if err != nil {
				return out, err
			}
			if !res.OK {
				return out, fmt.Errorf("the correction %s was refused: %s: %s", c.CommandID, res.Error.Code, res.Error.Message)
			}
			if !res.Duplicate {
				out = append(out, RuleCorrectionRecorded{Result: res, Contracts: n})
			}
		}
	}
	return out, nil
}

// needing counts the contracts a correction reaches and that were decided
// with the figure it corrects; 0 once it is recorded.
func (l *Ledger) needing(ctx context.Context, rf domain.ReferenceFacts, c domain.RuleCorrection) (int, error) {
	cache := l.referenceCache(rf)
	cache.mu.Lock()
	err := l.refreshReference(ctx, rf, cache)
	_, recorded := cache.commands[rf.ReferenceStream(mustType(c.Line))+"/"+c.CommandID]
	cache.mu.Unlock()
	if err != nil || recorded {
		return 0, err
	}
	ids, err := cache.signatures.reached(ctx, l.store, rf, c.Reaches)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		st, err := l.state(ctx, rf, id, false)
		if err != nil {
			return 0, err
		}
		if c.Needed(st.state) {
			n++
		}
	}
	return n, nil
}

// mustType is the type of a correction's command line (the scheme wrote
// it: a header that does not parse is a bug of the scheme).
func mustType(line []byte) string {
	h, err := domain.PeekHeader(line)
	if err != nil {
		panic(fmt.Sprintf("app: a rule correction's line: %v", err))
	}
	return h.Type
}
