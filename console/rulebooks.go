package console

import (
	"net/http"
	"slices"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/query"
)

// rulebooksView is the rulebooks page: each version with its amounts per
// tier as in force on the date, the amendments and the crises.
type rulebooksView struct {
	AsOf, KnownAt string
	Versions      []versionView
	Amendments    []query.AmendmentView
	Crises        []query.CrisisView
}

// versionView is a version and its amounts, a row per mission and
// component, a cell per tier.
type versionView struct {
	query.RulebookVersion
	Tiers []string
	Rows  []amountRow
	Caps  []amountCell
}

type amountRow struct {
	Mission, Component string
	Cells              []amountCell
}

// amountCell is one amount: nil when not published; Amendment names the
// amendment that set it.
// Tier labels the cell where a narrow screen stacks the table.
type amountCell struct {
	Tier      string
	Amount    *domain.Money
	Amendment string
}

// cellsFor is one empty cell per tier, each knowing its tier.
func cellsFor(tiers []string) []amountCell {
	cells := make([]amountCell, len(tiers))
	for i, t := range tiers {
		cells[i].Tier = t
	}
	return cells
}

func (c *Console) rulebooks(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	rv := rulebooksView{AsOf: q.Get("as_of"), KnownAt: q.Get("known_at")}
	win, err := c.window(rv.AsOf, rv.KnownAt)
	if err != nil {
		return err
	}
	rb, err := c.cfg.Reads.Rulebooks(r.Context(), win)
	if err != nil {
		return err
	}
	rv.Amendments, rv.Crises = rb.Amendments, rb.Crises
	for _, ver := range rb.Versions {
		rv.Versions = append(rv.Versions, versionOf(ver, rb.Tiers))
	}
	v.Title, v.Data = "rulebooks", rv
	c.render(w, r, http.StatusOK, "rulebooks", *v)
	return nil
}

// versionOf lays a version's amounts out by mission and component, one
// cell per tier, in the rulebooks' order of tiers.
func versionOf(ver query.RulebookVersion, tiers []string) versionView {
	vv := versionView{RulebookVersion: ver, Tiers: tiers}
	index := map[[2]string]int{}
	for _, a := range ver.Amounts {
		key := [2]string{a.Mission, a.Component}
		i, ok := index[key]
		if !ok {
			i = len(vv.Rows)
			index[key] = i
			vv.Rows = append(vv.Rows, amountRow{Mission: a.Mission, Component: a.Component, Cells: cellsFor(tiers)})
		}
		t := slices.Index(tiers, a.Tier)
		if t < 0 {
			continue
		}
		cell := amountCell{Tier: a.Tier}
		if a.Amount != nil {
			if m, err := domain.ParseMoney(*a.Amount); err == nil {
				cell.Amount = &m
			}
		}
		if a.Amendment != nil {
			cell.Amendment = a.Amendment.ID
		}
		vv.Rows[i].Cells[t] = cell
	}
	if len(ver.AnnualCaps) > 0 {
		vv.Caps = cellsFor(tiers)
		for _, cp := range ver.AnnualCaps {
			if t := slices.Index(tiers, cp.Tier); t >= 0 {
				if m, err := domain.ParseMoney(cp.Amount); err == nil {
					vv.Caps[t] = amountCell{Tier: cp.Tier, Amount: &m}
				}
			}
		}
	}
	return vv
}
