package console

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/query"
	"github.com/google/uuid"
)

// dashboardView is the national dashboard.
type dashboardView struct {
	Amounts    barChart // decided per calendar year, by scheme
	Signed     barChart // CPTS contracts signed by the end of each year, with the published volumes
	Tiers      []count
	Schemes    []count
	Alerts     []count
	Total      domain.Money
	Checkpoint *Checkpoint
	CheckAge   string
	NoNotary   bool
}

type count struct {
	Key string
	N   int
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	totals, err := c.cfg.Reads.Totals(ctx, "scheme", query.Window{})
	if err != nil {
		return err
	}
	d := dashboardView{Amounts: amountsChart(totals, v.Lang)}
	d.Total = totals[len(totals)-1].Decided
	tiers, schemes := map[string]int{}, map[string]int{}
	signedBy := map[int]int{}
	for cursor := ""; ; {
		page, err := c.cfg.Reads.SearchContracts(ctx, query.ContractSearch{Limit: query.MaxPage, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, s := range page.Contracts {
			schemes[s.Scheme]++
			if s.Scheme == cpts.Scheme {
				tiers[s.Tier]++
				y, _, _ := s.SignedOn.YMD()
				signedBy[y]++
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	d.Tiers, d.Schemes = counts(tiers), counts(schemes)
	d.Signed = signedChart(signedBy, v.Lang)
	alerts, err := c.cfg.Reads.Alerts(ctx, query.Window{}, 60, query.AlertFilter{})
	if err != nil {
		return err
	}
	byStatus := map[string]int{}
	for _, a := range alerts {
		byStatus[a.Status]++
	}
	for _, s := range []string{cpts.AlertOverdue, cpts.AlertDueSoon, cpts.AlertPending, cpts.AlertMetLate, cpts.AlertMet} {
		d.Alerts = append(d.Alerts, count{s, byStatus[s]})
	}
	if c.cfg.LatestCheckpoint == nil {
		d.NoNotary = true
	} else if cp, ok, err := c.cfg.LatestCheckpoint(ctx); err != nil {
		return err
	} else if ok {
		d.Checkpoint = &cp
		d.CheckAge = age(c.cfg.Now().Sub(cp.SignedAt), v.Lang)
	}
	v.Title, v.Data = "dashboard", d
	c.render(w, r, http.StatusOK, "dashboard", *v)
	return nil
}

func counts(m map[string]int) []count {
	out := make([]count, 0, len(m))
	for k, n := range m {
		out = append(out, count{k, n})
	}
	slices.SortFunc(out, func(a, b count) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// age says how long ago, roughly.
func age(d time.Duration, lang string) string {
	unit, n := "min", int(d.Minutes())
	switch {
	case d >= 48*time.Hour:
		unit, n = "days", int(d.Hours()/24)
	case d >= 2*time.Hour:
		unit, n = "hours", int(d.Hours())
	}
	return strconv.Itoa(n) + " " + translate(lang, unit)
}

// contractsView is a search and its page of results.
type contractsView struct {
	Search query.ContractSearch
	Page   query.ContractPage
}

func (c *Console) contracts(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	s := query.ContractSearch{Q: q.Get("q"), CPAM: q.Get("cpam"), ARS: q.Get("ars"), Tier: q.Get("tier"), Scheme: q.Get("scheme"),
		Status: q.Get("status"), Cursor: q.Get("cursor"), Limit: 50}
	if v.Identity.CPAM != "" {
		if s.CPAM != "" && s.CPAM != v.Identity.CPAM {
			return forbiddenError{}
		}
		s.CPAM = v.Identity.CPAM
	}
	if vs := c.cfg.Reads.Check(s); len(vs) > 0 {
		return badRequest(vs.Err().Error())
	}
	page, err := c.cfg.Reads.SearchContracts(r.Context(), s)
	if err != nil {
		return err
	}
	v.Title, v.Data = "contracts", contractsView{Search: s, Page: page}
	c.render(w, r, http.StatusOK, "contracts", *v)
	return nil
}

// contractView is a contract's page.
type contractView struct {
	Detail   query.ContractDetail
	AsOf     string // the form's values, as typed
	KnownAt  string
	Window   query.Window
	Timeline []query.AuditEvent
	ChainOK  bool
	Problem  string
	Payments []query.Payment
	Balance  *query.Balance
	Total    domain.Money // of the payments shown
	Chart    deadlineChart
	Proofs   bool
}

func (c *Console) contract(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	id, err := c.contractID(r, v)
	if err != nil {
		return err
	}
	d, err := c.cfg.Reads.Contract(ctx, id)
	if err != nil {
		return err
	}
	cv := contractView{Detail: d, AsOf: r.URL.Query().Get("as_of"), KnownAt: r.URL.Query().Get("known_at"), Proofs: c.cfg.ProveEvent != nil}
	if cv.Window, err = c.window(cv.AsOf, cv.KnownAt); err != nil {
		return err
	}
	if v.Can("read_audit") {
		trail, err := c.cfg.Reads.Audit(ctx, id, cv.Window)
		if err != nil {
			return err
		}
		cv.Timeline, cv.ChainOK, cv.Problem = trail.Events, trail.ChainOK, trail.Problem
	}
	if v.Can("read_finance") {
		if cv.Payments, err = c.cfg.Reads.Payments(ctx, id, cv.Window); err != nil {
			return err
		}
		for _, p := range cv.Payments {
			cv.Total = cv.Total.Add(p.Amount)
		}
		b, err := c.cfg.Reads.Balance(ctx, id, cv.Window)
		if err != nil {
			return err
		}
		cv.Balance = &b
		cv.Chart = newDeadlineChart(d.Deadlines, d.SignedOn, v.Lang)
	}
	v.Title, v.Data = "contract", cv
	c.render(w, r, http.StatusOK, "contract", *v)
	return nil
}

// contractID reads the {id} of the path and refuses, to an agent limited
// to one CPAM, a contract of another.
func (c *Console) contractID(r *http.Request, v *view) (uuid.UUID, error) {
	s := r.PathValue("id")
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return id, badRequest("bad_id")
	}
	if v.Identity.CPAM != "" {
		cpam, err := c.cfg.Reads.CPAMOf(r.Context(), id)
		if err != nil {
			return id, err
		}
		if !v.Identity.Sees(cpam) {
			return id, query.ErrUnknownContract{ID: id} // as an unknown contract: nothing of it shown
		}
	}
	return id, nil
}

// window reads an as-of date and a known-at time typed in a form: a date
// (YYYY-MM-DD, what a date field sends) and a date-time without zone,
// taken as UTC (what a datetime-local field sends), or RFC 3339.
func (c *Console) window(asOf, knownAt string) (query.Window, error) {
	var w query.Window
	if asOf != "" {
		d, err := domain.ParseDate(asOf)
		if err != nil || !c.cfg.Reads.Calendar().Contains(d) {
			return w, badRequest("bad_as_of")
		}
		w.AsOf = d
	}
	if knownAt != "" {
		t, err := query.ParseKnownAt(knownAt)
		if err != nil {
			// The form's datetime-local field sends a time without a zone:
			// UTC, as its label says.
			t, err = time.ParseInLocation("2006-01-02T15:04", knownAt, time.UTC)
			if err != nil {
				t, err = time.ParseInLocation("2006-01-02T15:04:05", knownAt, time.UTC)
			}
		}
		if err != nil {
			return w, badRequest("bad_known_at")
		}
		w.KnownAt, w.Known = t, true
	}
	return w, nil
}

func (c *Console) contractCSV(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := c.contractID(r, v)
	if err != nil {
		return err
	}
	win, err := c.window(r.URL.Query().Get("as_of"), r.URL.Query().Get("known_at"))
	if err != nil {
		return err
	}
	sep := ','
	if v.Lang == "fr" {
		sep = ';' // French spreadsheets: decimal commas
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="payments-`+id.String()+`.csv"`)
	return query.WriteCSV(r.Context(), c.cfg.Reads, w, sep, query.ExportFilter{Contract: id, PerPayment: true}, win)
}

func (c *Console) proof(w http.ResponseWriter, r *http.Request, v *view) error {
	if c.cfg.ProveEvent == nil {
		return badRequest("no_proofs")
	}
	if _, err := c.contractID(r, v); err != nil {
		return err
	}
	event, err := uuid.Parse(r.PathValue("event"))
	if err != nil {
		return badRequest("bad_id")
	}
	proof, err := c.cfg.ProveEvent(r.Context(), event)
	if err != nil {
		c.log.Warn("console proof", "event", event, "err", err)
		return badRequest("no_proof")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="proof-`+event.String()+`.json"`)
	_, err = w.Write(proof)
	return err
}

// alertsView is the alerts page.
type alertsView struct {
	Status, CPAM, ARS, AsOf string
	Within                  int
	Alerts                  []query.Alert
	Statuses                []string
}

func (c *Console) alerts(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	av := alertsView{Status: q.Get("status"), CPAM: q.Get("cpam"), ARS: q.Get("ars"), AsOf: q.Get("as_of"), Within: 60,
		Statuses: []string{cpts.AlertOverdue, cpts.AlertDueSoon, cpts.AlertPending, cpts.AlertMetLate, cpts.AlertMet}}
	if s := q.Get("within"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > query.MaxWithinDays {
			return badRequest("bad_within")
		}
		av.Within = n
	}
	if av.Status != "" && !slices.Contains(av.Statuses, av.Status) {
		return badRequest("bad_status")
	}
	win, err := c.window(av.AsOf, "")
	if err != nil {
		return err
	}
	if av.Alerts, err = c.cfg.Reads.Alerts(r.Context(), win, av.Within, query.AlertFilter{Status: av.Status, CPAM: av.CPAM, ARS: av.ARS}); err != nil {
		return err
	}
	v.Title, v.Data = "alerts", av
	c.render(w, r, http.StatusOK, "alerts", *v)
	return nil
}

// scheduleView is what falls due, by month.
type scheduleView struct {
	AsOf   string
	Within int
	CPAM   string
	Months []month
	Chart  barChart
	Total  domain.Money
}

type month struct {
	Key   string // YYYY-MM
	Items []query.ScheduleItem
	Total domain.Money
}

func (c *Console) scheduleItems(r *http.Request) (scheduleView, []query.ScheduleItem, error) {
	q := r.URL.Query()
	sv := scheduleView{AsOf: q.Get("as_of"), CPAM: q.Get("cpam"), Within: 90}
	if s := q.Get("within"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > query.MaxWithinDays {
			return sv, nil, badRequest("bad_within")
		}
		sv.Within = n
	}
	win, err := c.window(sv.AsOf, "")
	if err != nil {
		return sv, nil, err
	}
	items, err := c.cfg.Reads.Schedule(r.Context(), win, sv.Within, query.ScheduleFilter{CPAM: sv.CPAM})
	return sv, items, err
}

func (c *Console) schedule(w http.ResponseWriter, r *http.Request, v *view) error {
	sv, items, err := c.scheduleItems(r)
	if err != nil {
		return err
	}
	for _, it := range items {
		key := it.DueOn.String()[:7]
		if len(sv.Months) == 0 || sv.Months[len(sv.Months)-1].Key != key {
			sv.Months = append(sv.Months, month{Key: key})
		}
		m := &sv.Months[len(sv.Months)-1]
		m.Items = append(m.Items, it)
		if it.Amount != nil {
			m.Total = m.Total.Add(*it.Amount)
			sv.Total = sv.Total.Add(*it.Amount)
		}
	}
	sv.Chart = monthsChart(sv.Months, v.Lang)
	v.Title, v.Data = "schedule", sv
	c.render(w, r, http.StatusOK, "schedule", *v)
	return nil
}

func (c *Console) scheduleCSV(w http.ResponseWriter, r *http.Request, v *view) error {
	_, items, err := c.scheduleItems(r)
	if err != nil {
		return err
	}
	sep := ','
	if v.Lang == "fr" {
		sep = ';'
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="schedule.csv"`)
	return query.WriteScheduleCSV(w, sep, items)
}
