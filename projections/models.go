package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
)

// All returns the ledger's projections.
func All() []Projection {
	return []Projection{contractsProjection{}, paymentsProjection{}, deadlinesProjection{}, reportsProjection{}}
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
		var err error
		switch e := ev.Body.(type) {
		case cpts.ContractSigned:
			_, err = ins.ExecContext(ctx, ev.Contract.String(), cpts.Scheme, e.CPTS.ID, e.CPTS.Name, e.ARS, e.CPAM,
				e.Population, e.Tier, e.Rulebook, e.SignedOn.String(), e.SNPRegulation, strings.Join(e.Missions, ","))
		case cpts.ContractTerminated:
			_, err = term.ExecContext(ctx, e.TerminatedOn.String(), e.Reason, ev.Contract.String())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// payments: every decision with its lines, and the decided amount per
// contract and contract year.
type paymentsProjection struct{}

func (paymentsProjection) Name() string { return "payments" }

func (paymentsProjection) Apply(ctx context.Context, tx *sql.Tx, events []Event) error {
	s := &stmts{tx: tx, ctx: ctx}
	defer s.close()
	pay := s.prep(`INSERT INTO payments (position, payment_id, contract_id, scheme, kind, contract_year, mission, due_on, decided_on,
		status, amount, amount_cents, rulebook, rule, reason, lines, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	bal := s.prep(`INSERT INTO balances (contract_id, contract_year, decided_cents, payments) VALUES (?,?,?,1)
		ON CONFLICT (contract_id, contract_year) DO UPDATE SET decided_cents = decided_cents + excluded.decided_cents, payments = payments + 1`)
	if s.err != nil {
		return s.err
	}
	for _, ev := range events {
		p, ok := ev.Body.(cpts.PaymentDecided)
		if !ok {
			continue
		}
		lines, err := json.Marshal(p.Lines)
		if err != nil {
			return err
		}
		if _, err := pay.ExecContext(ctx, int64(ev.Position), p.PaymentID.String(), ev.Contract.String(), cpts.Scheme, p.Kind,
			p.ContractYear, nullable(p.Mission), p.DueOn.String(), p.DecidedOn.String(), p.Status, p.Amount.String(), p.Amount.Cents(),
			p.Rulebook, p.Rule, nullable(p.Reason), string(lines), ev.RecordedAt.Format(eventstore.RecordedAtFormat)); err != nil {
			return err
		}
		if _, err := bal.ExecContext(ctx, ev.Contract.String(), p.ContractYear, p.Amount.Cents()); err != nil {
			return err
		}
	}
	return nil
}

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
		var err error
		switch e := ev.Body.(type) {
		case cpts.ContractSigned:
			c := cpts.NewContract(ev.Contract)
			if err := c.Apply(e); err != nil {
				return err
			}
			for _, d := range c.Deadlines() {
				if _, err := ins.ExecContext(ctx, ev.Contract.String(), d.Mission, d.Kind, d.Months, d.Deadline.String()); err != nil {
					return err
				}
			}
		case cpts.MissionStarted:
			_, err = done.ExecContext(ctx, e.StartedOn.String(), ev.Contract.String(), e.Mission, cpts.DeadlineStart)
		case cpts.MissionDeployed:
			_, err = done.ExecContext(ctx, e.DeployedOn.String(), ev.Contract.String(), e.Mission, cpts.DeadlineDeploy)
		}
		if err != nil {
			return err
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
		if r, ok := ev.Body.(cpts.IndicatorsReported); ok {
			if _, err := ins.ExecContext(ctx, ev.Contract.String(), r.ContractYear, r.ReportedOn.String()); err != nil {
				return err
			}
		}
	}
	return nil
}
