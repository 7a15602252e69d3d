package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/payrun"
	"github.com/cptsledger/ledger/query"
)

// postPaymentRun runs the payments (finance): {"through", "execution_date",
// "cpam", "run_id"}, the options of ledger pay run. The answer (201) is
// the run's report once its orders are durable; the bank's file is
// ledger pay run's (the same run again writes it, recording nothing).
func (s *Server) postPaymentRun(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	if err := requireJSON(r, "the run"); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var body struct {
		From          string `json:"from"`
		Through       string `json:"through"`
		ExecutionDate string `json:"execution_date"`
		CPAM          string `json:"cpam"`
		RunID         string `json:"run_id"`
	}
	if err := decodeStrict(r, &body); err != nil {
		return err
	}
	o := payrun.Options{RunID: body.RunID, From: body.From, Through: body.Through, ExecutionDate: body.ExecutionDate, CPAM: body.CPAM, Actor: id.Name}
	if !s.cfg.Replay {
		o.Today = domain.DateOf(time.Now())
	}
	spec, err := payrun.Spec(o)
	if err != nil {
		return problemf(http.StatusUnprocessableEntity, CodeInvalidParameter, "%s", err.Error())
	}
	rep, err := payrun.Run(r.Context(), s.cfg.Commands, s.cfg.Reads, spec, "", s.log)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	return writeJSON(w, rep)
}

// getRunFile serves a payment run's pain.001 file (finance), written again
// from the orders the run recorded: the same bytes ledger pay run --out
// wrote.
func (s *Server) getRunFile(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	file, err := payrun.File(r.Context(), s.cfg.Commands, s.cfg.Reads, r.PathValue("run"))
	if errors.Is(err, payrun.ErrNoRun) {
		return problemf(http.StatusNotFound, CodeNotFound, "no payment run %q ordered a transfer", r.PathValue("run"))
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Disposition", `attachment; filename="`+r.PathValue("run")+`.xml"`)
	_, err = w.Write(file)
	return err
}

// postStatement imports a bank statement (finance): the camt.053.001.08
// document as application/xml, checked against its schema before anything
// is recorded.
func (s *Server) postStatement(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (media != "application/xml" && media != "text/xml") {
		return problemf(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "send the statement as application/xml (got %q)", r.Header.Get("Content-Type"))
	}
	doc, err := io.ReadAll(http.MaxBytesReader(w, r.Body, payrun.MaxStatementBytes))
	if err != nil {
		return err
	}
	rep, err := payrun.ImportDocument(r.Context(), s.cfg.Commands, s.cfg.Reads, "upload", doc, id.Name)
	var invalid *payrun.InvalidStatementError
	if errors.As(err, &invalid) {
		return problemf(http.StatusUnprocessableEntity, CodeInvalidStatement, "%s", err.Error())
	}
	if err != nil {
		return err
	}
	return writeJSON(w, rep)
}

// getReconciliation is a month from decision to the bank (finance,
// auditors): month (YYYY-MM), cpam, known_at.
func (s *Server) getReconciliation(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	p := &params{r: r}
	win := p.window(s.cfg.Reads)
	month := p.text("month")
	if month == "" {
		p.bad(domain.CodeMissingField, "month", "is required: YYYY-MM")
	}
	cpam := p.text("cpam")
	var from domain.Date
	if f := p.text("from"); f != "" {
		d, err := domain.ParseDate(f)
		if err != nil {
			p.bad(domain.CodeInvalidDate, "from", "want a date YYYY-MM-DD")
		}
		from = d
	}
	if err := s.checkParties(r, p, query.PartyFilter{CPAM: cpam}); err != nil {
		return err
	}
	rec, err := s.cfg.Reads.Reconcile(r.Context(), month, cpam, from, win)
	if err != nil {
		return err
	}
	return writeJSON(w, rec)
}

// getOverpayments lists the overpayment notices and where each stands:
// contract, as_of, known_at.
func (s *Server) getOverpayments(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	p := &params{r: r}
	win := p.window(s.cfg.Reads)
	contract := uuid.Nil
	if c := p.text("contract"); c != "" {
		id, err := uuid.Parse(c)
		if err != nil {
			p.bad(domain.CodeInvalidUUID, "contract", "want a contract id (a UUID)")
		}
		contract = id
	}
	if err := p.err(); err != nil {
		return err
	}
	list, err := s.cfg.Reads.Overpayments(r.Context(), contract, win)
	if err != nil {
		return err
	}
	return writeJSON(w, list)
}
