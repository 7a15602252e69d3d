package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
)

// All returns the ledger's projections.
func All() []Projection {
	return []Projection{contractsProjection{}, aidContractsProjection{}, paymentsProjection{}, deadlinesProjection{}, reportsProjection{}}
}

// stmts prepares statements in a transaction and closes them together.
type stmts struct {
	tx   *sql.Tx
	ctx  context.Context
	list []*sql.Stmt
	err  error
}

func (s *stmts) prep(q string) *sql.Stmt {
	st, err := s.tx.PrepareContext(s.ctx, q)
	if err != nil {
		s.err = errors.Join(s.err, err)
		return nil
	}
	s.list = append(s.list, st)
	return st
}

func (s *stmts) close() {
	for _, st := range s.list {
		st.Close()
	}
}

// decode reads an event's data into v, naming the event on failure.
func decode(ev Event, v any) error {
	if err := json.Unmarshal(ev.Data, v); err != nil {
		return fmt.Errorf("%s at position %d: %w", ev.Type, ev.Position, err)
	}
	return nil
}

// centsOf reads an amount written with exactly two decimals ("-1250.50") as
// integer cents, without going through a binary fraction.
func centsOf(amount string) (int64, error) {
	i := strings.IndexByte(amount, '.')
	if i < 0 || len(amount)-i != 3 {
		return 0, fmt.Errorf("amount %q does not have two decimals", amount)
	}
	return strconv.ParseInt(amount[:i]+amount[i+1:], 10, 64)
}

// applyTermination records a ContractTerminated event (the same in every
// scheme) with an UPDATE … SET terminated_on = ?, termination_reason = ?
// WHERE contract_id = ? statement.
func applyTermination(ctx context.Context, term *sql.Stmt, ev Event) error {
	var e domain.ContractTerminated
	if err := decode(ev, &e); err != nil {
		return err
	}
	_, err := term.ExecContext(ctx, e.TerminatedOn.String(), e.Reason, ev.Contract.String())
	return err
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// contracts: one row per contract, its terms and termination.
type contractsProjection struct{}

func (contractsProjection) Name() string { return "contracts" }

func (contractsProjection) Apply(ctx context.Context, tx *sql.Tx, events []Event) error {
	s := &stmts{tx: tx, ctx: ctx}
	defer s.close()
	ins := s.prep(`INSERT INTO contracts (contract_id, scheme, cpts_id, cpts_name, ars, cpam, population, tier, rulebook,
		signed_on, snp_regulation, missions) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`)
	term := s.prep(`UPDATE contracts SET terminated_on = ?, termination_reason = ? WHERE contract_id = ?`)
	if s.err != nil {
		return s.err
	}
	for _, ev := range events {
		if ev.Scheme != cpts.Scheme {
			continue
		}
		switch ev.Type {
		case cpts.TypeContractSigned:
			e, err := dataOf[cpts.ContractSigned](ev)
			if err != nil {
				return err
			}
			if _, err := ins.ExecContext(ctx, ev.Contract.String(), cpts.Scheme, e.CPTS.ID, e.CPTS.Name, e.ARS, e.CPAM,
				e.Population, e.Tier, e.Rulebook, e.SignedOn.String(), e.SNPRegulation, strings.Join(e.Missions, ",")); err != nil {
				return err
			}
		case cpts.TypeContractTerminated:
			if err := applyTermination(ctx, term, ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// aid_contracts: one row per medical-assistant aid contract.
type aidContractsProjection struct{}

func (aidContractsProjection) Name() string { return "aid_contracts" }

func (aidContractsProjection) Apply(ctx context.Context, tx *sql.Tx, events []Event) error {
	s := &stmts{tx: tx, ctx: ctx}
	defer s.close()
	ins := s.prep(`INSERT INTO aid_contracts (contract_id, cpam, rpps, specialty, option, band, rulebook, signed_on,
		patientele_baseline, patientele_target) VALUES (?,?,?,?,?,?,?,?,?,?)`)
	hire := s.prep(`UPDATE aid_contracts SET hired_on = ? WHERE contract_id = ?`)
	term := s.prep(`UPDATE aid_contracts SET terminated_on = ?, termination_reason = ? WHERE contract_id = ?`)
	if s.err != nil {
		return s.err
	}
	for _, ev := range events {
		if ev.Scheme != assistant.Scheme {
			continue
		}
		var err error
		switch ev.Type {
		case assistant.TypeAidContractSigned:
			var e assistant.AidContractSigned
			if err := decode(ev, &e); err != nil {
				return err
			}
			_, err = ins.ExecContext(ctx, ev.Contract.String(), e.CPAM, e.Doctor.RPPS, e.Doctor.Specialty, e.Option, e.Band,
				e.Rulebook, e.SignedOn.String(), e.PatienteleBaseline, e.PatienteleTarget)
		case assistant.TypeAssistantHired:
			var e assistant.AssistantHired
			if err := decode(ev, &e); err != nil {
				return err
			}
			_, err = hire.ExecContext(ctx, e.HiredOn.String(), ev.Contract.String())
		case assistant.TypeContractTerminated:
			err = applyTermination(ctx, term, ev)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// paymentData is what the payments read model takes from a PaymentDecided
// event, in every scheme: amounts and dates stay the text they were decided
// with, and the lines the JSON.
type paymentData struct {
	PaymentID    string          `json:"payment_id"`
	Kind         string          `json:"kind"`
	ContractYear int             `json:"contract_year"`
	Mission      string          `json:"mission"`
	DueOn        string          `json:"due_on"`
	DecidedOn    string          `json:"decided_on"`
	Status       string          `json:"status"`
	Amount       string          `json:"amount"`
	Rulebook     string          `json:"rulebook"`
	Table        string          `json:"table"`
	Rule         string          `json:"rule"`
	Reason       string          `json:"reason"`
	Lines        json.RawMessage `json:"lines"`
}

// payments: every decision with its lines, and the decided amount per
// contract and contract year.
type paymentsProjection struct{}

func (paymentsProjection) Name() string { return "payments" }

func (paymentsProjection) Apply(ctx context.Context, tx *sql.Tx, events []Event) error {
	s := &stmts{tx: tx, ctx: ctx}
	defer s.close()
	pay := s.prep(`INSERT INTO payments (position, payment_id, contract_id, scheme, kind, contract_year, mission, due_on, decided_on,
		status, amount, amount_cents, rulebook, aid_table, rule, reason, lines, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	bal := s.prep(`INSERT INTO balances (contract_id, contract_year, decided_cents, payments) VALUES (?,?,?,?)
		ON CONFLICT (contract_id, contract_year) DO UPDATE SET decided_cents = decided_cents + excluded.decided_cents,
		payments = payments + excluded.payments`)
	if s.err != nil {
		return s.err
	}
	sums := map[balanceKey]balanceSum{}
	var keys []balanceKey
	for _, ev := range events {
		if ev.Scheme == "" || ev.Type != domain.TypePaymentDecided {
			continue // every scheme decides payments with the same shape
		}
		p, err := dataOf[paymentData](ev)
		if err != nil {
			return err
		}
		cents, err := centsOf(p.Amount)
		if err != nil {
			return fmt.Errorf("payment %s: %w", p.PaymentID, err)
		}
		if _, err := pay.ExecContext(ctx, int64(ev.Position), p.PaymentID, ev.Contract.String(), ev.Scheme, p.Kind,
			p.ContractYear, nullable(p.Mission), p.DueOn, p.DecidedOn, p.Status, p.Amount, cents,
			p.Rulebook, nullable(p.Table), p.Rule, nullable(p.Reason), string(p.Lines), ev.RecordedAt.Format(eventstore.RecordedAtFormat)); err != nil {
			return err
		}
		k := balanceKey{ev.Contract.String(), p.ContractYear}
		if _, ok := sums[k]; !ok {
			keys = append(keys, k)
		}
		sums[k] = balanceSum{sums[k].cents + cents, sums[k].n + 1}
	}
	// One upsert per contract year of the batch: a contract's events are
	// close together in the log, so a batch holds several of its decisions.
	for _, k := range keys {
		if _, err := bal.ExecContext(ctx, k.contract, k.year, sums[k].cents, sums[k].n); err != nil {
			return err
		}
	}
	return nil
}

type balanceKey struct {
	contract string
	year     int
}

type balanceSum struct{ cents, n int64 }

// deadlines: the 6/12/18/24-month start and deployment deadlines of each
// contract, with the date each was met.
type deadlinesProjection struct{}

func (deadlinesProjection) Name() string { return "deadlines" }

func (deadlinesProjection) Apply(ctx context.Context, tx *sql.Tx, events []Event) error {
	s := &stmts{tx: tx, ctx: ctx}
	defer s.close()
	ins := s.prep(`INSERT INTO deadlines (contract_id, mission, kind, months, deadline) VALUES (?,?,?,?,?)`)
	done := s.prep(`UPDATE deadlines SET done_on = ? WHERE contract_id = ? AND mission = ? AND kind = ?`)
	if s.err != nil {
		return s.err
	}
	for _, ev := range events {
		if ev.Scheme != cpts.Scheme {
			continue
		}
		switch ev.Type {
		case cpts.TypeContractSigned:
			e, err := dataOf[cpts.ContractSigned](ev)
			if err != nil {
				return err
			}
			c := cpts.NewContract(ev.Contract)
			if err := c.Apply(*e); err != nil {
				return err
			}
			for _, d := range c.Deadlines() {
				if _, err := ins.ExecContext(ctx, ev.Contract.String(), d.Mission, d.Kind, d.Months, d.Deadline.String()); err != nil {
					return err
				}
			}
		case cpts.TypeMissionStarted, cpts.TypeMissionDeployed:
			var e struct {
				Mission    string `json:"mission"`
				StartedOn  string `json:"started_on"`
				DeployedOn string `json:"deployed_on"`
			}
			if err := decode(ev, &e); err != nil {
				return err
			}
			kind, on := cpts.DeadlineStart, e.StartedOn
			if ev.Type == cpts.TypeMissionDeployed {
				kind, on = cpts.DeadlineDeploy, e.DeployedOn
			}
			if _, err := done.ExecContext(ctx, on, ev.Contract.String(), e.Mission, kind); err != nil {
				return err
			}
		}
	}
	return nil
}

// reports: which contract years have been reported, and when.
type reportsProjection struct{}

func (reportsProjection) Name() string { return "reports" }

func (reportsProjection) Apply(ctx context.Context, tx *sql.Tx, events []Event) error {
	s := &stmts{tx: tx, ctx: ctx}
	defer s.close()
	ins := s.prep(`INSERT INTO reports (contract_id, contract_year, reported_on) VALUES (?,?,?)`)
	if s.err != nil {
		return s.err
	}
	for _, ev := range events {
		if ev.Scheme != cpts.Scheme || ev.Type != cpts.TypeIndicatorsReported {
			continue
		}
		var r struct {
			ContractYear int    `json:"contract_year"`
			ReportedOn   string `json:"reported_on"`
		}
		if err := decode(ev, &r); err != nil {
			return err
		}
		if _, err := ins.ExecContext(ctx, ev.Contract.String(), r.ContractYear, r.ReportedOn); err != nil {
			return err
		}
	}
	return nil
}
