package cpts

import (
	"encoding/json"
	"fmt"

	"github.com/cptsledger/ledger/domain"
	"github.com/shopspring/decimal"
)

// SignedFiguresAmendmentID is the amendment that corrects a ledger which
// decided amendment 2's top-ups with the October 2020 proposal's +50 %
// (the figures its rulebook held, kept as superseded) to the signed
// text's +75 % (docs/domain.md §2.6).
const SignedFiguresAmendmentID = "aci-cpts-2019-av2-signed"

// RuleCorrections implements domain.RuleCorrections: amendment 2's signed
// figures, for a ledger with a top-up decided with the superseded ones.
func (d definition) RuleCorrections(on domain.Date) []domain.RuleCorrection {
	var out []domain.RuleCorrection
	for _, rb := range d.rules.Rulebooks() {
		for _, a := range d.rules.AmendmentsOf(rb.ID) {
			if c, ok := d.rules.signedFigures(a, on); ok {
				out = append(out, c)
			}
		}
	}
	return out
}

// signedFigures is the correction of an amendment whose data keeps
// superseded figures: a retroactive PublishRulebookAmendment, effective
// with the amendment, setting every tier's seed_topup to the signed one.
func (r *Rules) signedFigures(a *Amendment, on domain.Date) (domain.RuleCorrection, bool) {
	if a.Superseded == nil {
		return domain.RuleCorrection{}, false
	}
	type row struct {
		Tier      string `json:"tier"`
		Component string `json:"component"`
		Amount    string `json:"amount"`
	}
	var rows []row
	base, _ := r.ByID(a.Amends)
	for _, t := range base.Tiers {
		rows = append(rows, row{t.Code, ComponentSeedTopup, a.SeedFunding[t.Code].Topup().StringFixed(2)})
	}
	id := SignedFiguresAmendmentID
	line, err := json.Marshal(map[string]any{"type": CmdPublishRulebookAmendment, "command_id": id, "amendment_id": id,
		"amends": a.Amends, "effective_on": a.EffectiveOn.String(), "published_on": on.String(), "retroactive": true, "amounts": rows,
		"source": a.Source, "reason": fmt.Sprintf("%s as signed: seed funding +75 %%, not the +50 %% of the proposal the ledger's rulebook held (%s); every top-up decided with the old figure is regularised", a.ID, a.Superseded.Source)})
	if err != nil {
		panic(err) // strings and a fixed shape: cannot fail
	}
	return domain.RuleCorrection{CommandID: id, Line: line,
		Reaches: func(sig domain.Event) bool {
			s, ok := sig.(ContractSigned)
			return ok && !s.SignedOn.After(a.SignedOnOrBefore)
		},
		Needed: func(st domain.State) bool {
			c, ok := st.(*Contract)
			return ok && c.decidedSuperseded(a)
		}}, true
}

// decidedSuperseded reports whether the contract's top-up of amendment a
// was decided with the superseded figure and never regularised by the
// signed figures' correction.
func (c *Contract) decidedSuperseded(a *Amendment) bool {
	old, ok := a.supersededAfter(c.Terms.Tier)
	if !ok {
		return false
	}
	for _, am := range c.Amendments {
		if am.AmendmentID == SignedFiguresAmendmentID {
			return false
		}
	}
	want := domain.ExactDecimal(old.Sub(a.SeedFunding[c.Terms.Tier].Before)).Cents()
	for _, p := range c.Payments {
		if p.Kind == KindAmorcageTopup && p.Amount.Cmp(want) == 0 {
			return true
		}
	}
	return false
}

// supersededTopup is the top-up of a tier under rb with the superseded
// figures its amendment's data keeps, if it keeps any.
func (r *Rules) supersededTopup(rb *Rulebook, tier string) (decimal.Decimal, bool) {
	for _, a := range r.AmendmentsOf(rb.ID) {
		if old, ok := a.supersededAfter(tier); ok {
			return old.Sub(a.SeedFunding[tier].Before), true
		}
	}
	return decimal.Decimal{}, false
}
