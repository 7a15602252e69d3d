package console

import (
	"net/http"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/query"
)

// reconcileView is the month reconciled, as the finance role works it.
type reconcileView struct {
	Month, CPAM, From string
	CPAMs             []string
	Rec               query.Reconciliation
}

// reconciliation shows a month from decision to the bank (ledger
// reconcile): what happened in it, where every payment due by its end
// stands, and each one not paid. Default: the month before today's.
func (c *Console) reconciliation(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	rv := reconcileView{Month: q.Get("month"), CPAM: q.Get("cpam"), From: q.Get("from")}
	var from domain.Date
	if rv.From != "" {
		d, err := domain.ParseDate(rv.From)
		if err != nil {
			return badRequest("bad_date")
		}
		from = d
	}
	if rv.Month == "" {
		rv.Month = c.cfg.Now().AddDate(0, -1, 0).Format("2006-01")
	}
	if _, _, err := query.ParseMonth(rv.Month); err != nil {
		return badRequest("bad_month")
	}
	if err := c.checkParties(r, query.PartyFilter{CPAM: rv.CPAM}); err != nil {
		return err
	}
	var err error
	if rv.CPAMs, _, err = c.cfg.Reads.Parties(r.Context()); err != nil {
		return err
	}
	if rv.Rec, err = c.cfg.Reads.Reconcile(r.Context(), rv.Month, rv.CPAM, from, query.Window{}); err != nil {
		return err
	}
	v.Title, v.Data = "reconciliation", rv
	c.render(w, r, http.StatusOK, "reconciliation", *v)
	return nil
}
