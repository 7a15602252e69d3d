package demo

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/payrun"
	"github.com/cptsledger/ledger/internal/sepa"
	"github.com/cptsledger/ledger/query"
)

// treasury ends the demo with a month from decision to the bank, for the
// CPAM with the most contracts: an agent records each beneficiary's bank
// account and a controller confirms it (four eyes), the finance team
// records the CPAM's own account and runs last month's payments (the
// ledger took over the payments on its first day: what fell due before
// was paid by the system before), the bank's statement books every
// transfer but one, returned for a closed account, and the month is
// reconciled.
func treasury(e *Env, store eventstore.Store, q *query.Ledger, o Options) error {
	cpam, ids, err := busiestCPAM(e, q)
	if err != nil || len(ids) == 0 {
		return err
	}
	fmt.Fprintf(e.Out, "\n== From decision to the bank: last month's payments of the %d contracts of %s\n", len(ids), cpam)
	agent := app.New(store, app.Options{Actor: "demo-agent", Schemes: e.Schemes, ReplayHistory: true})
	controller := app.New(store, app.Options{Actor: "demo-controller", Schemes: e.Schemes, ReplayHistory: true})
	finance := app.New(store, app.Options{Actor: "demo-finance", Schemes: e.Schemes, ReplayHistory: true})
	if err := recordAccounts(e, store, agent, controller, ids); err != nil {
		return err
	}
	payer := demoIBAN("payer " + cpam)
	if err := submitOK(e, finance, fmt.Sprintf(`{"type":"RecordPayerAccount","command_id":"demo-payer","cpam":%q,"iban":%q,"name":%q,"effective_on":"2019-09-01"}`,
		cpam, payer, cpam)); err != nil {
		return err
	}
	y, m, _ := o.Today.AddMonths(-1).YMD()
	first := domain.NewDate(y, m, 1)
	out := filepath.Join(o.DataDir, "demo-payments.xml")
	spec, err := payrun.Spec(payrun.Options{RunID: "DEMO-" + first.String()[:7], From: first.String(), Through: first.AddMonths(1).AddDays(-1).String(),
		ExecutionDate: o.Today.String(), CPAM: cpam, Actor: "demo-finance"})
	if err != nil {
		return err
	}
	rep, err := payrun.Run(e.Ctx, finance, q, spec, out, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "   %d accounts recorded by demo-agent and confirmed by demo-controller; ledger pay run --from %s --through %s --cpam %q\n",
		len(ids), spec.From, spec.Through, cpam)
	fmt.Fprintf(e.Out, "   run %s: %d transfers, %s, in %s (pain.001.001.09, checked against the EPC's schema); %d blocked\n",
		rep.RunID, rep.Orders, rep.Total, out, len(rep.Blocked))
	if rep.Orders == 0 {
		return nil
	}
	stmt, err := bankStatement(out, payer, o.Today)
	if err != nil {
		return err
	}
	imp, err := payrun.Import(e.Ctx, finance, q, stmt, "demo-finance")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "   the bank's statement (camt.053.001.08, %s): %d settled, %d returned for a closed account (AC04)\n",
		stmt, imp.Counts["settled"], imp.Counts["returned"])
	r, err := q.Reconcile(e.Ctx, o.Today.String()[:7], cpam, first, query.Window{})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "   ledger reconcile --month %s --cpam %q --from %s:\n", r.Month, cpam, first)
	var b bytes.Buffer
	if err := payrun.WriteReconciliation(&b, r); err != nil {
		return err
	}
	lines := bytes.SplitN(b.Bytes(), []byte("\n\n"), 2)
	fmt.Fprintf(e.Out, "%s\n   each payment due and not paid is listed by ledger reconcile (%d here: the one returned, and those falling due this month, for the next run)\n",
		indent(lines[0]), len(r.Differences))
	return nil
}

// busiestCPAM returns the CPAM with the most contracts, and their ids.
func busiestCPAM(e *Env, q *query.Ledger) (string, []uuid.UUID, error) {
	by := map[string][]uuid.UUID{}
	best := ""
	err := q.EachContract(e.Ctx, query.ContractSearch{}, func(c query.ContractSummary) error {
		by[c.CPAM] = append(by[c.CPAM], c.ContractID)
		if best == "" || len(by[c.CPAM]) > len(by[best]) || (len(by[c.CPAM]) == len(by[best]) && c.CPAM < best) {
			best = c.CPAM
		}
		return nil
	})
	return best, by[best], err
}

// recordAccounts records an account for each contract, as one person, and
// confirms it, as another.
func recordAccounts(e *Env, store eventstore.Store, agent, controller *app.Ledger, ids []uuid.UUID) error {
	for _, id := range ids {
		stream := ""
		for _, s := range e.Schemes {
			if evs, err := store.ReadStream(e.Ctx, domain.Stream(s.Name(), id), 0, 1); err == nil && len(evs) > 0 {
				stream = domain.Stream(s.Name(), id)
			}
		}
		if err := submitOK(e, agent, fmt.Sprintf(`{"type":"RecordBankAccount","command_id":"demo-account","contract_id":%q,"iban":%q,"holder":"Beneficiary %s","effective_on":"2019-09-01"}`,
			id, demoIBAN(id.String()), id.String()[:8])); err != nil {
			return err
		}
		if err := submitOK(e, controller, fmt.Sprintf(`{"type":"ConfirmBankAccount","command_id":"demo-confirm","contract_id":%q,"account":%q}`,
			id, domain.EventID(stream, "demo-account", 0))); err != nil {
			return err
		}
	}
	return nil
}

func submitOK(e *Env, l *app.Ledger, line string) error {
	r, err := l.Submit(e.Ctx, []byte(line))
	if err != nil {
		return err
	}
	if !r.OK {
		return fmt.Errorf("demo: %s: %s", line, r.Error.Message)
	}
	return nil
}

// bankStatement writes the statement the bank would send after executing
// the file: every transfer booked, but the first, returned (closed
// account).
func bankStatement(file, payer string, today domain.Date) (string, error) {
	doc, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	transfers, err := sepa.ReadPain001(doc)
	if err != nil {
		return "", err
	}
	s := sepa.Statement{MessageID: "DEMO-STMT-" + today.String(), ID: "DEMO-" + today.String(), IBAN: payer,
		Created: today.Time().Add(20 * time.Hour), Closing: domain.MustMoney("1000000.00")}
	for i, t := range transfers {
		b := sepa.Booking{Amount: t.Amount, BookedOn: today, Reference: fmt.Sprintf("BANK-%06d", i+1), EndToEndID: t.EndToEndID}
		s.Bookings = append(s.Bookings, b)
		if i == 0 {
			b.Credit, b.ReturnReason, b.Reference = true, "AC04", b.Reference+"-R"
			s.Bookings = append(s.Bookings, b)
		}
	}
	var out bytes.Buffer
	if err := sepa.WriteCamt053(&out, s); err != nil {
		return "", err
	}
	path := filepath.Join(filepath.Dir(file), "demo-statement.xml")
	return path, os.WriteFile(path, out.Bytes(), 0o600)
}

// demoIBAN is a French IBAN made up from a seed, its check digits right.
func demoIBAN(seed string) string {
	h := fnv.New64a()
	h.Write([]byte(seed))
	bban := fmt.Sprintf("30006%05d%011d00", h.Sum64()%100000, h.Sum64()%100000000000)
	n, _ := new(big.Int).SetString(bban+"152700", 10) // F=15, R=27, then 00
	check := 98 - new(big.Int).Mod(n, big.NewInt(97)).Int64()
	return fmt.Sprintf("FR%02d%s", check, bban)
}

func indent(b []byte) string {
	return "   " + string(bytes.ReplaceAll(bytes.TrimRight(b, "\n"), []byte("\n"), []byte("\n   ")))
}
