package projections

import (
	"context"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/google/uuid"
)

// deadlines: the 6/12/18/24-month start and deployment deadlines of each
// CPTS contract, with the date each was met as the ledger knows it now; and
// every fact that met one, corrections included, with its business date and
// recorded time, for alerts as of any date and as known at any time.
type deadlinesProjection struct{}

func (deadlinesProjection) Name() string { return "deadlines" }
func (deadlinesProjection) Version() int { return 2 }

func (deadlinesProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS deadlines (
	contract_id TEXT NOT NULL,
	mission     TEXT NOT NULL,
	kind        TEXT NOT NULL,
	months      INTEGER NOT NULL,
	deadline    TEXT NOT NULL,
	done_on     TEXT,
	PRIMARY KEY (contract_id, mission, kind)
) WITHOUT ROWID;

-- Every start and deployment recorded, and every correction of one.
CREATE TABLE IF NOT EXISTS fact_history (
	contract_id   TEXT NOT NULL,
	mission       TEXT NOT NULL,
	kind          TEXT NOT NULL,    -- start or deploy
	done_on       TEXT NOT NULL,
	business_date TEXT NOT NULL,    -- the fact's date, or the correction's
	recorded_at   TEXT NOT NULL,
	position      INTEGER NOT NULL,
	PRIMARY KEY (contract_id, mission, kind, position)
) WITHOUT ROWID;`
}

func (deadlinesProjection) Indexes() []Index {
	return []Index{{"deadlines_by_date", "deadlines (deadline)"}}
}

func (deadlinesProjection) NewFold() Fold { return &deadlinesFold{} }

type deadlineKey struct{ mission, kind string }

type deadlineRow struct {
	months   int
	deadline domain.Date
}

// deadlinesDelta is what a fold knows of a contract's deadlines: all of
// them when it saw the signature, and the dates met since.
type deadlinesDelta struct {
	rows  map[deadlineKey]deadlineRow
	order []deadlineKey
	done  map[deadlineKey]domain.Date
}

type factRow struct {
	contract             uuid.UUID
	mission, kind        string
	doneOn, businessDate domain.Date
	recordedAt           string
	position             int64
}

type deadlinesFold struct {
	byContract[deadlinesDelta]
	facts []factRow
}

func (f *deadlinesFold) Held() int { return f.len() + len(f.facts) }

func (f *deadlinesFold) Add(ev *Event) error {
	if ev.Scheme != cpts.Scheme {
		return nil
	}
	var mission, kind string
	var done, business domain.Date
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
		d := f.get(ev.Contract)
		d.rows = map[deadlineKey]deadlineRow{}
		for _, dl := range c.Deadlines() {
			k := deadlineKey{dl.Mission, dl.Kind}
			d.rows[k] = deadlineRow{dl.Months, dl.Deadline}
			d.order = append(d.order, k)
		}
		return nil
	case cpts.TypeMissionStarted:
		var e cpts.MissionStarted
		if err := decode(*ev, &e); err != nil {
			return err
		}
		mission, kind, done, business = e.Mission, cpts.DeadlineStart, e.StartedOn, e.StartedOn
	case cpts.TypeMissionDeployed:
		var e cpts.MissionDeployed
		if err := decode(*ev, &e); err != nil {
			return err
		}
		mission, kind, done, business = e.Mission, cpts.DeadlineDeploy, e.DeployedOn, e.DeployedOn
	case cpts.TypeMissionDateCorrected:
		var e cpts.MissionDateCorrected
		if err := decode(*ev, &e); err != nil {
			return err
		}
		mission, kind, done, business = e.Mission, e.Kind, e.Date, e.CorrectedOn
	default:
		return nil
	}
	d := f.get(ev.Contract)
	if d.done == nil {
		d.done = map[deadlineKey]domain.Date{}
	}
	d.done[deadlineKey{mission, kind}] = done
	f.facts = append(f.facts, factRow{ev.Contract, mission, kind, done, business, recordedAt(ev), int64(ev.Position)})
	return nil
}

func (f *deadlinesFold) Flush(ctx context.Context, w *Writer) error {
	err := f.each(func(id uuid.UUID, d *deadlinesDelta) error {
		for _, k := range d.order {
			r := d.rows[k]
			if err := w.Exec(ctx, `INSERT OR REPLACE INTO deadlines (contract_id, mission, kind, months, deadline, done_on) VALUES (?,?,?,?,?,?)`,
				id.String(), k.mission, k.kind, r.months, r.deadline.String(), nullable(d.done[k].String())); err != nil {
				return err
			}
		}
		if d.rows != nil {
			return nil
		}
		for k, on := range d.done {
			if err := w.Exec(ctx, `UPDATE deadlines SET done_on = ? WHERE contract_id = ? AND mission = ? AND kind = ?`,
				on.String(), id.String(), k.mission, k.kind); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range f.facts {
		if err := w.Exec(ctx, `INSERT INTO fact_history (contract_id, mission, kind, done_on, business_date, recorded_at, position) VALUES (?,?,?,?,?,?,?)`,
			r.contract.String(), r.mission, r.kind, r.doneOn.String(), r.businessDate.String(), r.recordedAt, r.position); err != nil {
			return err
		}
	}
	f.facts = nil
	return nil
}

// terminations: every termination of a contract of any scheme, and every
// correction of its date, with business date and recorded time.
type terminationsProjection struct{}

func (terminationsProjection) Name() string { return "terminations" }
func (terminationsProjection) Version() int { return 1 }

func (terminationsProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS terminations (
	contract_id   TEXT NOT NULL,
	terminated_on TEXT NOT NULL,
	business_date TEXT NOT NULL,  -- the termination's date, or the correction's
	recorded_at   TEXT NOT NULL,
	position      INTEGER NOT NULL,
	PRIMARY KEY (contract_id, position)
) WITHOUT ROWID;`
}

func (terminationsProjection) Indexes() []Index { return nil }
func (terminationsProjection) NewFold() Fold    { return &terminationsFold{} }

type terminationRow struct {
	contract     uuid.UUID
	on, business domain.Date
	recordedAt   string
	position     int64
}

type terminationsFold struct{ rows []terminationRow }

func (f *terminationsFold) Held() int { return len(f.rows) }

func (f *terminationsFold) Add(ev *Event) error {
	if ev.Scheme == "" {
		return nil
	}
	return foldTermination(ev, func(on, business domain.Date, _ *string) {
		f.rows = append(f.rows, terminationRow{ev.Contract, on, business, recordedAt(ev), int64(ev.Position)})
	})
}

func (f *terminationsFold) Flush(ctx context.Context, w *Writer) error {
	for _, r := range f.rows {
		if err := w.Exec(ctx, `INSERT INTO terminations (contract_id, terminated_on, business_date, recorded_at, position) VALUES (?,?,?,?,?)`,
			r.contract.String(), r.on.String(), r.business.String(), r.recordedAt, r.position); err != nil {
			return err
		}
	}
	f.rows = nil
	return nil
}

// reports: which CPTS contract years have been reported, and when.
type reportsProjection struct{}

func (reportsProjection) Name() string { return "reports" }
func (reportsProjection) Version() int { return 1 }

func (reportsProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS reports (
	contract_id   TEXT NOT NULL,
	contract_year INTEGER NOT NULL,
	reported_on   TEXT NOT NULL,
	PRIMARY KEY (contract_id, contract_year)
) WITHOUT ROWID;`
}

func (reportsProjection) Indexes() []Index { return nil }
func (reportsProjection) NewFold() Fold    { return &reportsFold{} }

type reportRow struct {
	contract uuid.UUID
	year     int
	on       string
}

type reportsFold struct{ rows []reportRow }

func (f *reportsFold) Held() int { return len(f.rows) }

func (f *reportsFold) Add(ev *Event) error {
	if ev.Scheme != cpts.Scheme || ev.Type != cpts.TypeIndicatorsReported {
		return nil
	}
	var r struct {
		ContractYear int    `json:"contract_year"`
		ReportedOn   string `json:"reported_on"`
	}
	if err := decode(*ev, &r); err != nil {
		return err
	}
	f.rows = append(f.rows, reportRow{ev.Contract, r.ContractYear, r.ReportedOn})
	return nil
}

func (f *reportsFold) Flush(ctx context.Context, w *Writer) error {
	for _, r := range f.rows {
		if err := w.Exec(ctx, `INSERT INTO reports (contract_id, contract_year, reported_on) VALUES (?,?,?)`, r.contract.String(), r.year, r.on); err != nil {
			return err
		}
	}
	f.rows = nil
	return nil
}
