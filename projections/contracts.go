package projections

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/textfold"
)

// contracts: one row per CPTS contract, its terms as corrected and its
// termination.
type contractsProjection struct{}

func (contractsProjection) Name() string { return "contracts" }
func (contractsProjection) Version() int { return 4 } // 4: name_folded

func (contractsProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS contracts (
	contract_id        TEXT PRIMARY KEY,
	scheme             TEXT NOT NULL,
	cpts_id            TEXT NOT NULL,
	cpts_name          TEXT NOT NULL,
	name_folded        TEXT NOT NULL,  -- cpts_name folded for search (internal/textfold)
	ars                TEXT NOT NULL,
	cpam               TEXT NOT NULL,
	population         INTEGER NOT NULL,
	tier               TEXT NOT NULL,
	rulebook           TEXT NOT NULL,
	signed_on          TEXT NOT NULL,
	signed_recorded_at TEXT NOT NULL,  -- when the ledger recorded the signature
	snp_regulation     INTEGER NOT NULL,
	missions           TEXT NOT NULL,
	terminated_on      TEXT,
	termination_reason TEXT,
	terminated_recorded_at TEXT  -- when the ledger recorded the termination
) WITHOUT ROWID;
-- The tier a contract had after each event that set it (the signature, a
-- correction of its terms): the tier as of a date, as known at a time, is
-- the last row the window sees (each row holds the whole tier, not a change).
CREATE TABLE IF NOT EXISTS tier_history (
	contract_id   TEXT NOT NULL,
	position      INTEGER NOT NULL,
	business_date TEXT NOT NULL,
	recorded_at   TEXT NOT NULL,
	tier          TEXT NOT NULL,
	PRIMARY KEY (contract_id, position)
) WITHOUT ROWID;`
}

func (contractsProjection) Indexes() []Index { return nil }
func (contractsProjection) NewFold() Fold    { return &contractsFold{} }
func (contractsProjection) Reads() []string {
	return []string{cpts.TypeContractSigned, cpts.TypeContractTermsCorrected, domain.TypeContractTerminated, domain.TypeTerminationCorrected}
}

// contractDelta is what a fold knows of a contract: its whole row when it
// saw the signature, else the changes to make to the row.
type contractDelta struct {
	row        *cpts.ContractSigned
	recorded   string
	terms      *cpts.Terms
	terminated domain.Date
	reason     *string // nil: keep the reason (a corrected date)
	termRec    string  // when the termination was recorded
	tiers      []tierRow
}

// tierRow is a row of tier_history.
type tierRow struct {
	position      eventstore.Position
	business, rec string
	tier          string
}

type contractsFold struct{ byContract[contractDelta] }

func (f *contractsFold) Held() int { return f.len() }

func (f *contractsFold) Add(ev *Event) error {
	if ev.Scheme != cpts.Scheme {
		return nil
	}
	switch e := ev.Payload.(type) {
	case cpts.ContractSigned:
		d := f.get(ev.Contract)
		d.row, d.recorded = &e, recordedAt(ev)
		d.tiers = append(d.tiers, tierRow{ev.Position, e.SignedOn.String(), d.recorded, e.Tier})
	case cpts.ContractTermsCorrected:
		d := f.get(ev.Contract)
		d.tiers = append(d.tiers, tierRow{ev.Position, ev.OccurredOn, recordedAt(ev), e.New.Tier})
		if d.row != nil {
			d.row.Population, d.row.Tier, d.row.SNPRegulation, d.row.Indicators = e.New.Population, e.New.Tier, e.New.SNPRegulation, e.New.Indicators
		} else {
			d.terms = &e.New
		}
	default:
		foldTermination(ev, func(on, _ domain.Date, reason *string) {
			d := f.get(ev.Contract)
			d.terminated = on
			if reason != nil {
				d.reason, d.termRec = reason, recordedAt(ev)
			}
		})
	}
	return nil
}

// foldTermination calls set with a termination's date, its business date
// and its reason (nil for a corrected date, which keeps the reason, and
// whose business date is the correction's), for the termination events of
// every scheme.
func foldTermination(ev *Event, set func(on, business domain.Date, reason *string)) {
	switch e := ev.Payload.(type) {
	case domain.ContractTerminated:
		set(e.TerminatedOn, e.TerminatedOn, &e.Reason)
	case domain.TerminationCorrected:
		set(e.TerminatedOn, e.CorrectedOn, nil)
	}
}

func (f *contractsFold) Flush(ctx context.Context, w *Writer) error {
	return f.each(func(id uuid.UUID, d *contractDelta) error {
		for _, t := range d.tiers {
			if err := w.Exec(ctx, `INSERT OR REPLACE INTO tier_history (contract_id, position, business_date, recorded_at, tier) VALUES (?,?,?,?,?)`,
				id.String(), int64(t.position), t.business, t.rec, t.tier); err != nil {
				return err
			}
		}
		if r := d.row; r != nil {
			var reason any
			if d.reason != nil {
				reason = *d.reason
			}
			return w.Exec(ctx, `INSERT OR REPLACE INTO contracts (contract_id, scheme, cpts_id, cpts_name, name_folded, ars, cpam, population, tier,
				rulebook, signed_on, signed_recorded_at, snp_regulation, missions, terminated_on, termination_reason, terminated_recorded_at)
				VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, id.String(), cpts.Scheme, r.CPTS.ID, r.CPTS.Name, textfold.Fold(r.CPTS.Name), r.ARS, r.CPAM, r.Population,
				r.Tier, r.Rulebook, r.SignedOn.String(), d.recorded, r.SNPRegulation, strings.Join(r.Missions, ","),
				nullable(d.terminated.String()), reason, nullable(d.termRec))
		}
		if t := d.terms; t != nil {
			if err := w.Exec(ctx, `UPDATE contracts SET population = ?, tier = ?, snp_regulation = ? WHERE contract_id = ?`,
				t.Population, t.Tier, t.SNPRegulation, id.String()); err != nil {
				return err
			}
		}
		return updateTermination(ctx, w, "contracts", id, d.terminated, d.reason, d.termRec)
	})
}

// updateTermination writes a termination (or a corrected date) into a
// contracts table.
func updateTermination(ctx context.Context, w *Writer, table string, id uuid.UUID, on domain.Date, reason *string, recorded string) error {
	switch {
	case on.IsZero():
		return nil
	case reason != nil:
		return w.Exec(ctx, `UPDATE `+table+` SET terminated_on = ?, termination_reason = ?, terminated_recorded_at = ? WHERE contract_id = ?`,
			on.String(), *reason, recorded, id.String())
	}
	return w.Exec(ctx, `UPDATE `+table+` SET terminated_on = ? WHERE contract_id = ?`, on.String(), id.String())
}

// aid_contracts: one row per medical-assistant aid contract. The doctor's
// RPPS number and the termination's reason are personal data: opened with
// the data directory's key store, and domain.ErasedText from the
// contract's PersonalDataErased on (a rebuild after the key is destroyed
// reads ErasedText from the log itself: the same rows).
type aidContractsProjection struct{}

func (aidContractsProjection) Name() string { return "aid_contracts" }
func (aidContractsProjection) Version() int { return 4 } // 4: erasures

func (aidContractsProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS aid_contracts (
	contract_id          TEXT PRIMARY KEY,
	cpam                 TEXT NOT NULL,
	rpps                 TEXT NOT NULL,
	specialty            TEXT NOT NULL,
	option               TEXT NOT NULL,
	band                 TEXT NOT NULL,
	rulebook             TEXT NOT NULL,
	signed_on            TEXT NOT NULL,
	signed_recorded_at   TEXT NOT NULL,
	patientele_baseline  INTEGER NOT NULL,
	patientele_target    INTEGER NOT NULL,
	hired_on             TEXT,
	terminated_on        TEXT,
	termination_reason   TEXT,
	terminated_recorded_at TEXT,
	-- The id of the key the doctor's data are sealed under ('' when recorded
	-- in clear), and the day they were erased.
	personal_key         TEXT NOT NULL DEFAULT '',
	erased_on            TEXT
) WITHOUT ROWID;`
}

func (aidContractsProjection) Indexes() []Index {
	return []Index{{Name: "aid_contracts_by_rpps", On: "aid_contracts (rpps)"}, {Name: "aid_contracts_by_key", On: "aid_contracts (personal_key)"}}
}
func (aidContractsProjection) NewFold() Fold { return &aidContractsFold{} }
func (aidContractsProjection) Reads() []string {
	return []string{assistant.TypeAidContractSigned, assistant.TypeAssistantHired, assistant.TypeHiringCorrected,
		domain.TypeContractTerminated, domain.TypeTerminationCorrected, assistant.TypePersonalDataErased}
}

type aidDelta struct {
	row        *assistant.AidContractSigned
	recorded   string
	hired      domain.Date
	terminated domain.Date
	reason     *string
	termRec    string
	erasedOn   domain.Date
}

type aidContractsFold struct{ byContract[aidDelta] }

func (f *aidContractsFold) Held() int { return f.len() }

func (f *aidContractsFold) Add(ev *Event) error {
	if ev.Scheme != assistant.Scheme {
		return nil
	}
	switch e := ev.Payload.(type) {
	case assistant.AidContractSigned:
		d := f.get(ev.Contract)
		d.row, d.recorded = &e, recordedAt(ev)
	case assistant.AssistantHired:
		f.get(ev.Contract).hired = e.HiredOn
	case assistant.HiringCorrected:
		f.get(ev.Contract).hired = e.HiredOn
	case assistant.PersonalDataErased:
		f.get(ev.Contract).erasedOn = e.ErasedOn
	default:
		foldTermination(ev, func(on, _ domain.Date, reason *string) {
			d := f.get(ev.Contract)
			d.terminated = on
			if reason != nil {
				d.reason, d.termRec = reason, recordedAt(ev)
			}
		})
	}
	return nil
}

func (f *aidContractsFold) Flush(ctx context.Context, w *Writer) error {
	return f.each(func(id uuid.UUID, d *aidDelta) error {
		if r := d.row; r != nil {
			var reason any
			if d.reason != nil {
				reason = *d.reason
			}
			if err := w.Exec(ctx, `INSERT OR REPLACE INTO aid_contracts (contract_id, cpam, rpps, specialty, option, band, rulebook, signed_on,
				signed_recorded_at, patientele_baseline, patientele_target, hired_on, terminated_on, termination_reason, terminated_recorded_at, personal_key)
				VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, id.String(), r.CPAM, r.Doctor.RPPS, r.Doctor.Specialty, r.Option, r.Band,
				r.Rulebook, r.SignedOn.String(), d.recorded, r.PatienteleBaseline, r.PatienteleTarget, nullable(d.hired.String()),
				nullable(d.terminated.String()), reason, nullable(d.termRec), r.PersonalKey); err != nil {
				return err
			}
		} else if err := f.update(ctx, w, id, d); err != nil {
			return err
		}
		if d.erasedOn.IsZero() {
			return nil
		}
		// What the key sealed reads ErasedText from now on, here as in a
		// rebuild that finds the key destroyed.
		return w.Exec(ctx, `UPDATE aid_contracts SET rpps = ?1, termination_reason = CASE WHEN termination_reason IS NULL THEN NULL ELSE ?1 END,
			erased_on = ?2 WHERE contract_id = ?3`, domain.ErasedText, d.erasedOn.String(), id.String())
	})
}

// update changes the row of a contract signed in an earlier flush.
func (f *aidContractsFold) update(ctx context.Context, w *Writer, id uuid.UUID, d *aidDelta) error {
	if !d.hired.IsZero() {
		if err := w.Exec(ctx, `UPDATE aid_contracts SET hired_on = ? WHERE contract_id = ?`, d.hired.String(), id.String()); err != nil {
			return err
		}
	}
	return updateTermination(ctx, w, "aid_contracts", id, d.terminated, d.reason, d.termRec)
}
