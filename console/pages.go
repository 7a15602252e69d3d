package console

import (
	"cmp"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/query"
)

// dashboardView is the national dashboard.
type dashboardView struct {
	Amounts    barCharts // decided per calendar year, by scheme
	Signed     barCharts // CPTS contracts signed by the end of each year, with the published volumes
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
	today := domain.DateOf(c.cfg.Now())
	d := dashboardView{Amounts: amountsChart(totals, v.Lang, today)}
	d.Total = totals[len(totals)-1].Decided
	tiers, schemes := map[string]int{}, map[string]int{}
	signedBy := map[int]int{}
	err = c.cfg.Reads.EachContract(ctx, query.ContractSearch{}, func(s query.ContractSummary) error {
		schemes[s.Scheme]++
		if s.Scheme == cpts.Scheme {
			tiers[s.Tier]++
			y, _, _ := s.SignedOn.YMD()
			signedBy[y]++
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.Tiers, d.Schemes = counts(tiers), counts(schemes)
	d.Signed = signedChart(signedBy, v.Lang, today)
	alerts, err := c.cfg.Reads.Alerts(ctx, query.Window{}, cpts.DueSoonDays, query.AlertFilter{})
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
		d.CheckAge = agoText(v.Lang, c.cfg.Now().Sub(cp.SignedAt))
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

// contractsView is a search and its page of results.
type contractsView struct {
	Search      query.ContractSearch
	Page        query.ContractPage
	CPAMs, ARSs []string // the filters' values
	Tiers       []string
}

// contractSearch reads a search from the query string; an agent limited to
// one CPAM searches its CPAM only.
func (c *Console) contractSearch(r *http.Request, v *view) (query.ContractSearch, error) {
	q := r.URL.Query()
	s := query.ContractSearch{Q: q.Get("q"), CPAM: q.Get("cpam"), ARS: q.Get("ars"), Tier: q.Get("tier"), Scheme: q.Get("scheme"),
		Status: q.Get("status"), Cursor: q.Get("cursor"), Limit: pageSize}
	if v.Identity.CPAM != "" {
		if s.CPAM != "" && s.CPAM != v.Identity.CPAM {
			return s, forbiddenError{}
		}
		s.CPAM = v.Identity.CPAM
	}
	if vs := c.cfg.Reads.Check(s); len(vs) > 0 {
		return s, badRequest("bad_search")
	}
	return s, c.checkParties(r, query.PartyFilter{CPAM: q.Get("cpam"), ARS: s.ARS, Tier: s.Tier})
}

// checkParties refuses a filter value that names nothing the ledger has
// (query.CheckParties): a typed or edited address never answers "nothing"
// to a typo. Only what the request names is checked (an agent's own CPAM,
// set by the console, may have no contract yet).
func (c *Console) checkParties(r *http.Request, f query.PartyFilter) error {
	vs, err := c.cfg.Reads.CheckParties(r.Context(), f)
	if err != nil {
		return err
	}
	if len(vs) > 0 {
		return badRequest("unknown_filter")
	}
	return nil
}

// pageSize is the rows of a page of contracts or alerts.
const pageSize = 50

func (c *Console) contracts(w http.ResponseWriter, r *http.Request, v *view) error {
	s, err := c.contractSearch(r, v)
	if err != nil {
		return err
	}
	cv := contractsView{Search: s}
	if cv.Page, err = c.cfg.Reads.SearchContracts(r.Context(), s); err != nil {
		return err
	}
	if cv.CPAMs, cv.ARSs, err = c.cfg.Reads.Parties(r.Context()); err != nil {
		return err
	}
	cv.Tiers = c.cfg.Reads.Tiers()
	v.Title, v.Data = "contracts", cv
	c.render(w, r, http.StatusOK, "contracts", *v)
	return nil
}

func (c *Console) contractsCSV(w http.ResponseWriter, r *http.Request, v *view) error {
	s, err := c.contractSearch(r, v)
	if err != nil {
		return err
	}
	var found []query.ContractSummary
	if err := c.cfg.Reads.EachContract(r.Context(), s, func(cs query.ContractSummary) error { found = append(found, cs); return nil }); err != nil {
		return err
	}
	return writeCSV(w, v.Lang, "contracts.csv", func(out io.Writer, style query.CSVStyle) error { return query.WriteContractsCSV(out, style, found) })
}

// contractView is a contract's page, every part of it as of the window.
type contractView struct {
	Detail   query.ContractDetail
	AsOf     string // the form's values, as typed
	KnownAt  string
	Window   query.Window
	Timeline []timelineRow
	ChainOK  bool
	Problem  string
	Payments []query.Payment
	Balance  *query.Balance
	Total    domain.Money // of the payments shown
	Chart    deadlineCharts
	Proofs   bool
	// Execution keeps the payments of one execution status ("": all).
	Execution  string
	Executions []string
}

// executions are the values of the payments' execution filter.
var executions = []string{domain.ExecutionDecided, domain.ExecutionOrdered, domain.ExecutionPaid, domain.ExecutionReturned}

// timelineRow is an event of the timeline, with whether the last signed
// checkpoint covers it (then a proof can be downloaded).
type timelineRow struct {
	query.AuditEvent
	Provable bool
}

func (c *Console) contract(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	id, err := c.contractID(r, v)
	if err != nil {
		return err
	}
	cv := contractView{AsOf: r.URL.Query().Get("as_of"), KnownAt: r.URL.Query().Get("known_at")}
	if cv.Window, err = c.window(cv.AsOf, cv.KnownAt); err != nil {
		return err
	}
	if cv.Detail, err = c.cfg.Reads.ContractAt(ctx, id, cv.Window); err != nil {
		if l, lerr := c.cfg.Reads.Letter(ctx, id, cv.Window); lerr == nil && query.IsUnknown(err) {
			// A letter of intent: its own page, even one no contract followed.
			v.Title, v.Data = "letter_h", l
			c.render(w, r, http.StatusOK, "letter", *v)
			return nil
		}
		return err
	}
	if v.Can("read_audit") {
		if err := c.timeline(r, &cv); err != nil {
			return err
		}
	}
	if v.Can("read_finance") {
		cv.Execution, cv.Executions = r.URL.Query().Get("execution"), executions
		if cv.Execution != "" && !slices.Contains(executions, cv.Execution) {
			return badRequest("unknown_filter")
		}
		ps, err := c.cfg.Reads.Payments(ctx, id, cv.Window)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if cv.Execution == "" || p.ExecutionStatus == cv.Execution {
				cv.Payments = append(cv.Payments, p)
				cv.Total = cv.Total.Add(p.Amount)
			}
		}
		b, err := c.cfg.Reads.Balance(ctx, id, cv.Window)
		if err != nil {
			return err
		}
		cv.Balance = &b
		cv.Chart = newDeadlineCharts(cv.Detail.Deadlines, cv.Detail.SignedOn, v.Lang)
	}
	v.Title, v.Data = "contract", cv
	c.render(w, r, http.StatusOK, "contract", *v)
	return nil
}

// timeline reads the contract's audit trail and marks the events the last
// signed checkpoint covers.
func (c *Console) timeline(r *http.Request, cv *contractView) error {
	trail, err := c.cfg.Reads.Audit(r.Context(), cv.Detail.ContractID, cv.Window)
	if err != nil {
		return err
	}
	cv.ChainOK, cv.Problem = trail.ChainOK, trail.Problem
	var last uint64
	if c.cfg.ProveEvent != nil && c.cfg.LatestCheckpoint != nil {
		cp, ok, err := c.cfg.LatestCheckpoint(r.Context())
		if err != nil {
			return err
		}
		if ok {
			last = cp.LastPosition
		}
	}
	for _, e := range trail.Events {
		provable := last > 0 && e.Position <= last
		cv.Proofs = cv.Proofs || provable
		cv.Timeline = append(cv.Timeline, timelineRow{e, provable})
	}
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
	return writeCSV(w, v.Lang, "payments-"+id.String()+".csv", func(out io.Writer, style query.CSVStyle) error {
		return query.WriteCSV(r.Context(), c.cfg.Reads, out, style, query.ExportFilter{Contract: id, PerPayment: true}, win)
	})
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

// alertsView is the alerts page: a page of the alerts the filters keep,
// by urgency.
type alertsView struct {
	Status, CPAM, ARS, AsOf string
	Within                  int
	Alerts                  []query.Alert
	Total                   int // alerts kept, on every page
	Page, Pages             int // from 1
	Statuses                []string
	CPAMs, ARSs             []string
}

// alertFilters reads the alerts' filters; the default status is open (the
// alerts still to work).
func (c *Console) alertFilters(r *http.Request, v *view) (alertsView, query.Window, error) {
	q := r.URL.Query()
	av := alertsView{Status: q.Get("status"), CPAM: q.Get("cpam"), ARS: q.Get("ars"), AsOf: q.Get("as_of"), Within: cpts.DueSoonDays,
		Statuses: query.AlertStatuses, Page: 1}
	if !q.Has("status") {
		av.Status = query.AlertOpen
	}
	if v.Identity.CPAM != "" {
		if av.CPAM != "" && av.CPAM != v.Identity.CPAM {
			return av, query.Window{}, forbiddenError{}
		}
		av.CPAM = v.Identity.CPAM
	}
	if s := q.Get("within"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > query.MaxWithinDays {
			return av, query.Window{}, badRequest("bad_within")
		}
		av.Within = n
	}
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			return av, query.Window{}, badRequest("bad_page")
		}
		av.Page = n
	}
	if av.Status != "" && !slices.Contains(av.Statuses, av.Status) {
		return av, query.Window{}, badRequest("bad_status")
	}
	if err := c.checkParties(r, query.PartyFilter{CPAM: q.Get("cpam"), ARS: av.ARS}); err != nil {
		return av, query.Window{}, err
	}
	win, err := c.window(av.AsOf, "")
	return av, win, err
}

func (c *Console) alertsOf(r *http.Request, v *view) (alertsView, []query.Alert, error) {
	av, win, err := c.alertFilters(r, v)
	if err != nil {
		return av, nil, err
	}
	all, err := c.cfg.Reads.Alerts(r.Context(), win, av.Within, query.AlertFilter{Status: av.Status, CPAM: av.CPAM, ARS: av.ARS})
	if err != nil {
		return av, nil, err
	}
	query.ByUrgency(all)
	return av, all, nil
}

func (c *Console) alerts(w http.ResponseWriter, r *http.Request, v *view) error {
	av, all, err := c.alertsOf(r, v)
	if err != nil {
		return err
	}
	av.Total, av.Pages = len(all), max(1, (len(all)+pageSize-1)/pageSize)
	if av.Page > av.Pages {
		return badRequest("bad_page")
	}
	av.Alerts = all[(av.Page-1)*pageSize : min(len(all), av.Page*pageSize)]
	if av.CPAMs, av.ARSs, err = c.cfg.Reads.Parties(r.Context()); err != nil {
		return err
	}
	v.Title, v.Data = "alerts", av
	c.render(w, r, http.StatusOK, "alerts", *v)
	return nil
}

func (c *Console) alertsCSV(w http.ResponseWriter, r *http.Request, v *view) error {
	_, all, err := c.alertsOf(r, v)
	if err != nil {
		return err
	}
	return writeCSV(w, v.Lang, "alerts.csv", func(out io.Writer, style query.CSVStyle) error { return query.WriteAlertsCSV(out, style, all) })
}

// scheduleView is what falls due, by month.
type scheduleView struct {
	AsOf   string
	Within int
	CPAM   string
	CPAMs  []string // the filter's values
	// Count is the items on every page; Page and Pages from 1; Months
	// hold this page's items (the chart and Total: every page's).
	Count, Page, Pages int
	Months             []month
	Chart              barCharts
	Total              domain.Money
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
	if err := c.checkParties(r, query.PartyFilter{CPAM: sv.CPAM}); err != nil {
		return sv, nil, err
	}
	if sv.CPAMs, _, err = c.cfg.Reads.Parties(r.Context()); err != nil {
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
	sv.Page = 1
	if s := r.URL.Query().Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			return badRequest("bad_page")
		}
		sv.Page = n
	}
	sv.Count, sv.Pages = len(items), max(1, (len(items)+pageSize-1)/pageSize)
	if sv.Page > sv.Pages {
		return badRequest("bad_page")
	}
	// The chart and the total: every month of the selection; the tables:
	// this page's items, by month.
	all := byMonth(items)
	for _, m := range all {
		sv.Total = sv.Total.Add(m.Total)
	}
	sv.Chart = monthsChart(all, v.Lang)
	sv.Months = byMonth(items[(sv.Page-1)*pageSize : min(len(items), sv.Page*pageSize)])
	v.Title, v.Data = "schedule", sv
	c.render(w, r, http.StatusOK, "schedule", *v)
	return nil
}

// byMonth groups schedule items, in date order, by month, with each
// month's total.
func byMonth(items []query.ScheduleItem) []month {
	var out []month
	for _, it := range items {
		key := it.DueOn.String()[:7]
		if len(out) == 0 || out[len(out)-1].Key != key {
			out = append(out, month{Key: key})
		}
		m := &out[len(out)-1]
		m.Items = append(m.Items, it)
		if it.Amount != nil {
			m.Total = m.Total.Add(*it.Amount)
		}
	}
	return out
}

func (c *Console) scheduleCSV(w http.ResponseWriter, r *http.Request, v *view) error {
	_, items, err := c.scheduleItems(r)
	if err != nil {
		return err
	}
	return writeCSV(w, v.Lang, "schedule.csv", func(out io.Writer, style query.CSVStyle) error { return query.WriteScheduleCSV(out, style, items) })
}
