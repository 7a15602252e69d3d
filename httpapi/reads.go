package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/query"
)

// params reads a request's query parameters, collecting every violation.
type params struct {
	r  *http.Request
	vs domain.Violations
}

func (p *params) get(name string) string { return p.r.URL.Query().Get(name) }

func (p *params) bad(code, name, rule string) { p.vs.Add(code, name, rule) }

// err is the problem for the violations, or nil.
func (p *params) err() error {
	if len(p.vs) == 0 {
		return nil
	}
	pr := problemf(http.StatusBadRequest, CodeInvalidParameter, "%s", p.vs.Err().Error())
	pr.Violations = p.vs
	return pr
}

// window reads as_of and known_at.
func (p *params) window(reads *query.Ledger) query.Window {
	var w query.Window
	if s := p.get("as_of"); s != "" {
		d, err := domain.ParseDate(s)
		switch {
		case err != nil:
			p.bad(domain.CodeInvalidDate, "as_of", "want a date YYYY-MM-DD")
		case !reads.Calendar().Contains(d):
			p.bad(domain.CodeDateOutOfRange, "as_of", fmt.Sprintf("outside the dates the rulebooks cover (%s)", reads.Calendar()))
		default:
			w.AsOf = d
		}
	}
	if s := p.get("known_at"); s != "" {
		t, err := query.ParseKnownAt(s)
		if err != nil {
			p.bad(domain.CodeInvalidValue, "known_at", "want a date YYYY-MM-DD (the end of that day, UTC) or an RFC 3339 time such as 2024-03-01T12:00:00Z (seconds optional)")
		}
		w.KnownAt, w.Known = t, true
	}
	return w
}

// within reads within, in days (default def).
func (p *params) within(def int) int {
	s := p.get("within")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > query.MaxWithinDays {
		p.bad(domain.CodeInvalidValue, "within", fmt.Sprintf("want whole days from 0 to %d", query.MaxWithinDays))
	}
	return n
}

// text reads a filter: at most query.MaxSearch bytes.
func (p *params) text(name string) string {
	s := p.get(name)
	if len(s) > query.MaxSearch {
		p.bad(domain.CodeTooLong, name, fmt.Sprintf("at most %d bytes", query.MaxSearch))
	}
	return s
}

// contract reads the {id} of the path.
func contractID(r *http.Request) (uuid.UUID, error) {
	s := r.PathValue("id")
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		p := problemf(http.StatusBadRequest, CodeInvalidParameter, "%q is not a contract id (a UUID)", s)
		p.Violations = []domain.Violation{violation(domain.CodeInvalidUUID, "id", "want a UUID")}
		return uuid.Nil, p
	}
	return id, nil
}

// mayRead refuses a contract of another CPAM to an agent limited to one.
func (s *Server) mayRead(r *http.Request, id auth.Identity, contract uuid.UUID) error {
	if id.CPAM == "" {
		return nil
	}
	cpam, err := s.cfg.Reads.CPAMOf(r.Context(), contract)
	if err != nil {
		return err
	}
	if !id.Sees(cpam) {
		// As an unknown contract: a limited agent learns nothing of the
		// contracts of other CPAMs, not even that they exist.
		return query.ErrUnknownContract{ID: contract}
	}
	return nil
}

// checkParties adds to p's violations the filter values that name nothing
// the ledger has (query.CheckParties), and answers them all: a typo is a
// 400 naming what it may have meant, never an empty list.
func (s *Server) checkParties(r *http.Request, p *params, f query.PartyFilter) error {
	if err := p.err(); err != nil {
		return err // the values are malformed: no need to look them up
	}
	vs, err := s.cfg.Reads.CheckParties(r.Context(), f)
	if err != nil {
		return err
	}
	p.vs = append(p.vs, vs...)
	return p.err()
}

func (s *Server) getContracts(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	p := &params{r: r}
	search := query.ContractSearch{Scheme: p.text("scheme"), CPAM: p.text("cpam"), ARS: p.text("ars"), Tier: p.text("tier"),
		Status: p.text("status"), Q: p.text("q"), Cursor: p.get("cursor"), Window: p.window(s.cfg.Reads)}
	if l := p.get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			p.bad(domain.CodeInvalidValue, "limit", fmt.Sprintf("want 1 to %d", query.MaxPage))
		}
		search.Limit = n
	}
	p.vs = append(p.vs, s.cfg.Reads.Check(search)...)
	if err := s.checkParties(r, p, query.PartyFilter{CPAM: search.CPAM, ARS: search.ARS, Tier: search.Tier}); err != nil {
		return err
	}
	if id.CPAM != "" {
		if search.CPAM != "" && search.CPAM != id.CPAM {
			return problemf(http.StatusForbidden, CodeForbidden, "%s reads only the contracts of %q", id.Name, id.CPAM)
		}
		search.CPAM = id.CPAM
	}
	page, err := s.cfg.Reads.SearchContracts(r.Context(), search)
	if err != nil {
		return err
	}
	return writeJSON(w, page)
}

func (s *Server) getContract(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	contract, win, err := s.contractWindow(r)
	if err != nil {
		return err
	}
	if err := s.mayRead(r, id, contract); err != nil {
		return err
	}
	d, err := s.cfg.Reads.ContractAt(r.Context(), contract, win)
	if err != nil {
		return err
	}
	return writeJSON(w, d)
}

// getLetter answers a letter of intent and its aid (avenant 2).
func (s *Server) getLetter(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	letter, win, err := s.contractWindow(r)
	if err != nil {
		return err
	}
	if err := s.mayRead(r, id, letter); err != nil {
		return err
	}
	l, err := s.cfg.Reads.Letter(r.Context(), letter, win)
	if err != nil {
		return err
	}
	return writeJSON(w, l)
}

// getRulebooks answers the rulebook versions, the amendments and the
// crises, as `ledger --json rulebooks` prints them.
func (s *Server) getRulebooks(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	p := &params{r: r}
	win := p.window(s.cfg.Reads)
	if err := p.err(); err != nil {
		return err
	}
	rb, err := s.cfg.Reads.Rulebooks(r.Context(), win)
	if err != nil {
		return err
	}
	return writeJSON(w, rb)
}

// contractWindow reads the {id} and the window of a contract's query.
func (s *Server) contractWindow(r *http.Request) (uuid.UUID, query.Window, error) {
	contract, err := contractID(r)
	if err != nil {
		return contract, query.Window{}, err
	}
	p := &params{r: r}
	win := p.window(s.cfg.Reads)
	return contract, win, p.err()
}

func (s *Server) getPayments(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	contract, win, err := s.contractWindow(r)
	if err != nil {
		return err
	}
	ps, err := s.cfg.Reads.Payments(r.Context(), contract, win)
	if err != nil {
		return err
	}
	return writeJSON(w, ps)
}

func (s *Server) getBalance(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	contract, win, err := s.contractWindow(r)
	if err != nil {
		return err
	}
	b, err := s.cfg.Reads.Balance(r.Context(), contract, win)
	if err != nil {
		return err
	}
	return writeJSON(w, b)
}

// getAudit answers the events of the audit trail, as `ledger --json audit`
// prints them. A trail whose hash chain does not verify is a 409 problem
// naming the first event that fails, as the CLI's exit 1 does.
func (s *Server) getAudit(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	contract, win, err := s.contractWindow(r)
	if err != nil {
		return err
	}
	trail, err := s.cfg.Reads.Audit(r.Context(), contract, win)
	if err != nil {
		return err
	}
	if !trail.ChainOK {
		return problemf(http.StatusConflict, CodeChainBroken, "hash chain broken at revision %d (event %s): %s; run ledger verify",
			trail.FirstBad.Revision, trail.FirstBad.EventID, trail.Problem)
	}
	return writeJSON(w, trail.Events)
}

func (s *Server) getAlerts(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	p := &params{r: r}
	win := p.window(s.cfg.Reads)
	within := p.within(cpts.DueSoonDays)
	f := query.AlertFilter{Status: p.text("status"), CPAM: p.text("cpam"), ARS: p.text("ars")}
	if f.Status != "" && !slices.Contains(query.AlertStatuses, f.Status) {
		p.bad(domain.CodeInvalidValue, "status", "want one of "+strings.Join(query.AlertStatuses, ", "))
	}
	if err := s.checkParties(r, p, query.PartyFilter{CPAM: f.CPAM, ARS: f.ARS}); err != nil {
		return err
	}
	alerts, err := s.cfg.Reads.Alerts(r.Context(), win, within, f)
	if err != nil {
		return err
	}
	return writeJSON(w, alerts)
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	p := &params{r: r}
	win := p.window(s.cfg.Reads)
	within := p.within(90)
	f := query.ScheduleFilter{CPAM: p.text("cpam")}
	if err := s.checkParties(r, p, query.PartyFilter{CPAM: f.CPAM}); err != nil {
		return err
	}
	items, err := s.cfg.Reads.Schedule(r.Context(), win, within, f)
	if err != nil {
		return err
	}
	return writeJSON(w, items)
}

func (s *Server) getTotals(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	p := &params{r: r}
	win := p.window(s.cfg.Reads)
	by := p.get("by")
	if by == "" {
		by = "year"
	}
	if !query.IsDimension(by) {
		p.bad(domain.CodeInvalidValue, "by", "want year, scheme, cpam, ars or tier")
	}
	if err := p.err(); err != nil {
		return err
	}
	totals, err := s.cfg.Reads.Totals(r.Context(), by, win)
	if err != nil {
		return err
	}
	return writeJSON(w, totals)
}

// getExport streams the payments export as CSV, as `ledger export
// payments` writes it.
func (s *Server) getExport(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	p := &params{r: r}
	win := p.window(s.cfg.Reads)
	sep := ','
	if v := p.get("sep"); v != "" {
		if utf8.RuneCountInString(v) != 1 || v == "\"" || v == "\n" || v == "\r" {
			p.bad(domain.CodeInvalidValue, "sep", "want one character, such as ; for French spreadsheets")
		} else {
			sep, _ = utf8.DecodeRuneInString(v)
		}
	}
	per := p.get("per")
	if per != "" && per != "line" && per != "payment" {
		p.bad(domain.CodeInvalidValue, "per", "want line or payment")
	}
	f := query.ExportFilter{PerPayment: per == "payment"}
	if c := p.get("contract"); c != "" {
		id, err := uuid.Parse(c)
		if err != nil || len(c) != 36 {
			p.bad(domain.CodeInvalidUUID, "contract", "want a UUID")
		}
		f.Contract = id
	}
	bom := query.DefaultBOM(sep)
	switch p.get("bom") {
	case "":
	case "true":
		bom = true
	case "false":
		bom = false
	default:
		p.bad(domain.CodeInvalidValue, "bom", "want true or false")
	}
	if err := p.err(); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="payments.csv"`)
	if bom {
		if _, err := io.WriteString(w, query.BOM); err != nil {
			return err
		}
	}
	cw := &countingWriter{w: w}
	err := query.WriteCSV(r.Context(), s.cfg.Reads, cw, query.CSVStyle{Sep: sep}, f, win)
	if err != nil && cw.n > 0 {
		s.log.Error("export interrupted", "err", err)
		return nil // the body is cut short: the client sees a truncated CSV
	}
	return err
}

// countingWriter counts what was written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
