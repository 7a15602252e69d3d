package projections

import (
	"context"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/google/uuid"
)

// deadlines: the start and deployment deadlines of each CPTS contract, as
// its rulebook sets them (cpts.Contract.Deadlines, written at the
// signature), and those of a mission the contract takes up later (counted
// from the rulebook that created it: written when the mission starts); and
// every fact that met one, corrections included, with its business date and
// recorded time, for alerts as of any date and as known at any time. The
// view deadlines gives each deadline with the date it was met as the ledger
// knows it now. An aid contract signed under avenant 7 without a coordinated
// practice has one deadline too, its commitment to join one
// (assistant.Contract.Commitment), met when CoordinatedPracticeJoined says.
type deadlinesProjection struct{}

func (deadlinesProjection) Name() string { return "deadlines" }

// 4: the deadlines of a mission taken up (taken_up); 5: an aid contract's
// commitment to a coordinated practice (mission coordinated_practice, kind
// commitment).
func (deadlinesProjection) Version() int { return 5 }

func (deadlinesProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS deadline_dates (
	contract_id TEXT NOT NULL,
	mission     TEXT NOT NULL,
	kind        TEXT NOT NULL,    -- start or deploy
	months      INTEGER NOT NULL,
	deadline    TEXT NOT NULL,
	-- 1: a deadline of a mission the contract took up after its signature
	-- (crisis, under an earlier rulebook): it exists once the mission started.
	taken_up    INTEGER NOT NULL DEFAULT 0
);

-- Every start and deployment recorded, and every correction of one.
CREATE TABLE IF NOT EXISTS fact_history (
	position      INTEGER PRIMARY KEY, -- of the event
	contract_id   TEXT NOT NULL,
	mission       TEXT NOT NULL,
	kind          TEXT NOT NULL,    -- start or deploy
	done_on       TEXT NOT NULL,
	business_date TEXT NOT NULL,    -- the fact's date, or the correction's
	recorded_at   TEXT NOT NULL
);

CREATE VIEW IF NOT EXISTS deadlines AS
	SELECT d.contract_id, d.mission, d.kind, d.months, d.deadline,
		(SELECT f.done_on FROM fact_history f WHERE f.contract_id = d.contract_id AND f.mission = d.mission AND f.kind = d.kind
			ORDER BY f.position DESC LIMIT 1) AS done_on
	FROM deadline_dates d;`
}

func (deadlinesProjection) Indexes() []Index {
	return []Index{
		// Early: the rows of a mission taken up are inserted when the
		// contract has none for it, which looks this index up.
		{Name: "deadline_dates_by_contract", On: "deadline_dates (contract_id, mission, kind)", Unique: true, Early: true},
		{Name: "deadline_dates_by_date", On: "deadline_dates (deadline)"},
		{Name: "fact_history_by_deadline", On: "fact_history (contract_id, mission, kind, position)"},
	}
}

func (deadlinesProjection) NewFold() Fold { return &deadlinesFold{} }
func (deadlinesProjection) Reads() []string {
	return []string{cpts.TypeContractSigned, cpts.TypeMissionStarted, cpts.TypeMissionDeployed, cpts.TypeMissionDateCorrected,
		assistant.TypeAidContractSigned, assistant.TypeCoordinatedPracticeJoined}
}

type deadlineRow struct {
	contract      uuid.UUID
	mission, kind string
	months        int
	deadline      domain.Date
	takenUp       bool // a mission taken up after the signature: kept when the signature gave none
}

type factRow struct {
	contract             uuid.UUID
	mission, kind        string
	doneOn, businessDate domain.Date
	recordedAt           string
	position             int64
}

type deadlinesFold struct {
	deadlines []deadlineRow
	facts     []factRow
}

func (f *deadlinesFold) Held() int { return len(f.deadlines) + len(f.facts) }

func (f *deadlinesFold) Add(ev *Event) error {
	if ev.Scheme == assistant.Scheme {
		return f.addAid(ev)
	}
	if ev.Scheme != cpts.Scheme {
		return nil
	}
	var mission, kind string
	var done, business domain.Date
	switch e := ev.Payload.(type) {
	case cpts.ContractSigned:
		c := cpts.NewContract(ev.Contract)
		if err := c.Apply(e); err != nil {
			return err
		}
		for _, dl := range c.Deadlines() {
			f.deadlines = append(f.deadlines, deadlineRow{ev.Contract, dl.Mission, dl.Kind, dl.Months, dl.Deadline, false})
		}
		return nil
	case cpts.MissionStarted:
		mission, kind, done, business = e.Mission, cpts.DeadlineStart, e.StartedOn, e.StartedOn
		for _, dl := range cpts.TakenUpDeadlines(e.Mission) {
			// Kept only when the signature gave none (Flush): a contract
			// signed under the rulebook that created the mission has its own.
			f.deadlines = append(f.deadlines, deadlineRow{ev.Contract, dl.Mission, dl.Kind, dl.Months, dl.Deadline, true})
		}
	case cpts.MissionDeployed:
		mission, kind, done, business = e.Mission, cpts.DeadlineDeploy, e.DeployedOn, e.DeployedOn
	case cpts.MissionDateCorrected:
		mission, kind, done, business = e.Mission, e.Kind, e.Date, e.CorrectedOn
	default:
		return nil
	}
	f.facts = append(f.facts, factRow{ev.Contract, mission, kind, done, business, recordedAt(ev), int64(ev.Position)})
	return nil
}

// addAid folds an aid contract's commitment to a coordinated practice
// (assistant.Contract.Commitment) and the day it was met.
func (f *deadlinesFold) addAid(ev *Event) error {
	switch e := ev.Payload.(type) {
	case assistant.AidContractSigned:
		c := assistant.NewContract(ev.Contract)
		if err := c.Apply(e); err != nil {
			return err
		}
		if cm := c.Commitment(); cm != nil {
			f.deadlines = append(f.deadlines, deadlineRow{ev.Contract, assistant.DeadlineCoordinatedPractice, assistant.DeadlineKindCommitment, cm.Months, cm.Deadline, false})
		}
	case assistant.CoordinatedPracticeJoined:
		f.facts = append(f.facts, factRow{ev.Contract, assistant.DeadlineCoordinatedPractice, assistant.DeadlineKindCommitment,
			e.JoinedOn, e.JoinedOn, recordedAt(ev), int64(ev.Position)})
	}
	return nil
}

func (f *deadlinesFold) Flush(ctx context.Context, w *Writer) error {
	for _, d := range f.deadlines {
		if !d.takenUp {
			if err := w.Exec(ctx, `INSERT INTO deadline_dates (contract_id, mission, kind, months, deadline) VALUES (?,?,?,?,?)`,
				d.contract.String(), d.mission, d.kind, d.months, d.deadline.String()); err != nil {
				return err
			}
			continue
		}
		// A mission taken up: kept when the signature gave none (the
		// lookup uses deadline_dates_by_contract, created early for it).
		if err := w.Exec(ctx, `INSERT INTO deadline_dates (contract_id, mission, kind, months, deadline, taken_up)
			SELECT ?1, ?2, ?3, ?4, ?5, 1 WHERE NOT EXISTS
				(SELECT 1 FROM deadline_dates WHERE contract_id = ?1 AND mission = ?2 AND kind = ?3)`,
			d.contract.String(), d.mission, d.kind, d.months, d.deadline.String()); err != nil {
			return err
		}
	}
	for _, r := range f.facts {
		if err := w.Exec(ctx, `INSERT INTO fact_history (position, contract_id, mission, kind, done_on, business_date, recorded_at) VALUES (?,?,?,?,?,?,?)`,
			r.position, r.contract.String(), r.mission, r.kind, r.doneOn.String(), r.businessDate.String(), r.recordedAt); err != nil {
			return err
		}
	}
	f.deadlines, f.facts = nil, nil
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
func (terminationsProjection) Reads() []string {
	return []string{domain.TypeContractTerminated, domain.TypeTerminationCorrected}
}

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
	foldTermination(ev, func(on, business domain.Date, _ *string) {
		f.rows = append(f.rows, terminationRow{ev.Contract, on, business, recordedAt(ev), int64(ev.Position)})
	})
	return nil
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
func (reportsProjection) Version() int { return 2 }

func (reportsProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS reports (
	position      INTEGER PRIMARY KEY, -- of the event
	contract_id   TEXT NOT NULL,
	contract_year INTEGER NOT NULL,
	reported_on   TEXT NOT NULL
);`
}

func (reportsProjection) Indexes() []Index {
	return []Index{{Name: "reports_by_contract", On: "reports (contract_id, contract_year)", Unique: true}}
}
func (reportsProjection) NewFold() Fold   { return &reportsFold{} }
func (reportsProjection) Reads() []string { return []string{cpts.TypeIndicatorsReported} }

type reportRow struct {
	position int64
	contract uuid.UUID
	year     int
	on       string
}

type reportsFold struct{ rows []reportRow }

func (f *reportsFold) Held() int { return len(f.rows) }

func (f *reportsFold) Add(ev *Event) error {
	if r, ok := ev.Payload.(cpts.IndicatorsReported); ok {
		f.rows = append(f.rows, reportRow{int64(ev.Position), ev.Contract, r.ContractYear, r.ReportedOn.String()})
	}
	return nil
}

func (f *reportsFold) Flush(ctx context.Context, w *Writer) error {
	for _, r := range f.rows {
		if err := w.Exec(ctx, `INSERT INTO reports (position, contract_id, contract_year, reported_on) VALUES (?,?,?,?)`,
			r.position, r.contract.String(), r.year, r.on); err != nil {
			return err
		}
	}
	f.rows = nil
	return nil
}
