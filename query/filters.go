package query

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/internal/textfold"
	"github.com/cptsledger/ledger/projections"
)

// PartyFilter is what a list of contracts (the search, the alerts, the
// schedule) may be narrowed to: a CPAM, an ARS, a tier. A value that names
// nothing the ledger has would answer "nothing" to a typo.
type PartyFilter struct {
	CPAM, ARS, Tier string
}

// Tiers are the tier codes of the rulebooks, in their order: the values a
// tier filter takes.
func (l *Ledger) Tiers() []string {
	if rules, _, ok := l.cptsRules(); ok {
		return rules.TierCodes()
	}
	return nil
}

// CheckParties names every value of f that names nothing: a CPAM no
// contract names, an ARS that is not one of the agencies or that no
// contract names, a tier the rulebooks do not have ("t2" is not "T2"),
// each with what it may have meant, or the values there are.
func (l *Ledger) CheckParties(ctx context.Context, f PartyFilter) (domain.Violations, error) {
	var vs domain.Violations
	if f.Tier != "" {
		if tiers := l.Tiers(); !slices.Contains(tiers, f.Tier) {
			vs.Add(domain.CodeInvalidValue, "tier", unknownValue(fmt.Sprintf("%q is not a tier of the rulebooks", f.Tier), f.Tier, tiers, true))
		}
	}
	if f.CPAM == "" && f.ARS == "" {
		return vs, nil
	}
	var cpams, arss []string
	err := l.with(ctx, func(db *projections.DB) error {
		var err error
		cpams, arss, err = db.Parties(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	if f.CPAM != "" && !slices.Contains(cpams, f.CPAM) {
		vs.Add(domain.CodeInvalidValue, "cpam", unknownValue(fmt.Sprintf("%q: no contract names this CPAM", f.CPAM), f.CPAM, cpams, true))
	}
	if f.ARS != "" {
		if _, err := ARSFilter(f.ARS); err != nil {
			vs = append(vs, err.(*domain.RejectedError).Violations...)
		} else if !slices.ContainsFunc(arss, func(a string) bool { return cpts.SameARS(a, f.ARS) }) {
			// An agency no contract names: nothing to suggest in its stead.
			vs.Add(domain.CodeInvalidValue, "ars", unknownValue(fmt.Sprintf("%q: no contract names this ARS", f.ARS), f.ARS, arss, false))
		}
	}
	return vs, nil
}

// unknownValue is msg (v names nothing), with what v may have meant
// (suggest) and the values there are when they are few.
func unknownValue(msg, v string, known []string, suggest bool) string {
	if len(known) == 0 {
		return msg + "; none yet"
	}
	if s := textfold.Suggest(v, known); suggest && len(s) > 0 {
		return msg + fmt.Sprintf("; did you mean %s?", quoteList(s))
	}
	if len(known) <= 20 {
		return msg + "; known: " + strings.Join(known, ", ")
	}
	return msg + fmt.Sprintf(" (%d are known)", len(known))
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, " or ")
}
