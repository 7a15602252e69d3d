package assistant

import (
	"fmt"
	"slices"

	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
)

// Correction command types of the scheme (CorrectTermination is shared).
const (
	CmdCorrectPatientele  = "CorrectPatientele"
	CmdCorrectHiring      = "CorrectHiring"
	CmdCorrectTermination = domain.CmdCorrectTermination
)

// Correction event types.
const (
	TypePatienteleCorrected  = "PatienteleCorrected"
	TypeHiringCorrected      = "HiringCorrected"
	TypeTerminationCorrected = domain.TypeTerminationCorrected
)

// CorrectPatientele replaces the patientèle of a recorded report.
type CorrectPatientele struct {
	domain.CommandMeta
	domain.CorrectionMeta
	Patientele int64
}

// CorrectHiring replaces the date of the recorded hiring.
type CorrectHiring struct {
	domain.CommandMeta
	domain.CorrectionMeta
	HiredOn domain.Date
}

func (*CorrectPatientele) CommandType() string { return CmdCorrectPatientele }
func (*CorrectHiring) CommandType() string     { return CmdCorrectHiring }

// Correction implements domain.Correction.
func (c *CorrectPatientele) Correction() *domain.CorrectionMeta { return &c.CorrectionMeta }
func (c *CorrectHiring) Correction() *domain.CorrectionMeta     { return &c.CorrectionMeta }

// PatienteleCorrected: the patientèle of a year's report was wrong.
type PatienteleCorrected struct {
	ContractID    uuid.UUID   `json:"contract_id"`
	Corrects      uuid.UUID   `json:"corrects"`
	ContractYear  int         `json:"contract_year"`
	OldPatientele int         `json:"old_patientele"`
	Patientele    int         `json:"patientele"`
	CorrectedOn   domain.Date `json:"corrected_on"`
	Reason        string      `json:"reason"`
}

// HiringCorrected: the date of the hiring was wrong.
type HiringCorrected struct {
	ContractID  uuid.UUID   `json:"contract_id"`
	Corrects    uuid.UUID   `json:"corrects"`
	OldHiredOn  domain.Date `json:"old_hired_on"`
	HiredOn     domain.Date `json:"hired_on"`
	CorrectedOn domain.Date `json:"corrected_on"`
	Reason      string      `json:"reason"`
}

func (PatienteleCorrected) EventType() string           { return TypePatienteleCorrected }
func (HiringCorrected) EventType() string               { return TypeHiringCorrected }
func (e PatienteleCorrected) BusinessDate() domain.Date { return e.CorrectedOn }

// CorrectedEvent implements domain.CorrectionEvent.
func (e PatienteleCorrected) CorrectedEvent() uuid.UUID { return e.Corrects }
func (e HiringCorrected) CorrectedEvent() uuid.UUID     { return e.Corrects }
func (e HiringCorrected) BusinessDate() domain.Date     { return e.CorrectedOn }

// decodeCorrection decodes the scheme's own corrections; ok is false for
// another type.
func decodeCorrection(d *domain.CommandDecoder) (cmd domain.Command, ok bool, err error) {
	f := d.Fields()
	switch d.Header.Type {
	case CmdCorrectPatientele:
		var w struct {
			domain.WireCorrection
			Patientele domain.NumberOrString `json:"patientele"`
		}
		if err := d.Decode(&w); err != nil {
			return nil, true, err
		}
		c := &CorrectPatientele{CommandMeta: d.Meta(w.WireHeader), CorrectionMeta: w.Meta(f)}
		if p, ok := f.Int("patientele", w.Patientele.Number()); ok {
			c.Patientele = p
		}
		cmd = c
	case CmdCorrectHiring:
		var w struct {
			domain.WireCorrection
			HiredOn string `json:"hired_on"`
		}
		if err := d.Decode(&w); err != nil {
			return nil, true, err
		}
		cmd = &CorrectHiring{CommandMeta: d.Meta(w.WireHeader), CorrectionMeta: w.Meta(f), HiredOn: f.Date("hired_on", w.HiredOn)}
	default:
		return nil, false, nil
	}
	cmd, err = d.Result(cmd)
	return cmd, true, err
}

// decideCorrection decides the scheme's corrections; ok is false for
// another command.
func decideCorrection(c *Contract, cmd domain.Command) (events []domain.Event, ok bool, err error) {
	switch cmd := cmd.(type) {
	case *CorrectPatientele:
		events, err = decideCorrectPatientele(c, cmd)
	case *CorrectHiring:
		events, err = decideCorrectHiring(c, cmd)
	case *domain.CorrectTermination:
		events, err = domain.DecideCorrectTermination(cmd, c.ID, c.Years, c.TerminatedOn, nil)
	default:
		return nil, false, nil
	}
	if err == nil {
		err = c.checkPrescription(events, cmd.(domain.Correction).Correction().CorrectedOn)
	}
	if err != nil {
		return nil, true, err
	}
	return events, true, nil
}

func decideCorrectPatientele(c *Contract, cmd *CorrectPatientele) ([]domain.Event, error) {
	var vs domain.Violations
	if !cmd.CheckTarget(&vs, TypePatienteleReported) {
		return nil, vs.Err()
	}
	k := cmd.Target.Event.(PatienteleReported).ContractYear
	old := c.Reports[k].Patientele
	switch {
	case cmd.Patientele < 0:
		vs.Add(domain.CodeNegativeValue, "patientele", fmt.Sprintf("must be 0 or more, got %d", cmd.Patientele))
	case int(cmd.Patientele) == old:
		vs.Add(domain.CodeNoChange, "patientele", fmt.Sprintf("the patientèle of year %d is %d already", k, old))
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []domain.Event{PatienteleCorrected{ContractID: c.ID, Corrects: cmd.Corrects, ContractYear: k, OldPatientele: old,
		Patientele: int(cmd.Patientele), CorrectedOn: cmd.CorrectedOn, Reason: cmd.Reason}}, nil
}

func decideCorrectHiring(c *Contract, cmd *CorrectHiring) ([]domain.Event, error) {
	var vs domain.Violations
	if !cmd.CheckTarget(&vs, TypeAssistantHired) {
		return nil, vs.Err()
	}
	d := cmd.HiredOn
	switch {
	case d.Equal(c.HiredOn):
		vs.Add(domain.CodeNoChange, "hired_on", "the assistant is recorded as hired on "+d.String()+" already")
	case d.Before(c.Terms.SignedOn):
		vs.Add(domain.CodeDateBeforeSignature, "hired_on", fmt.Sprintf("%s is before the signature on %s", d, c.Terms.SignedOn))
	case !d.Before(c.Years.End(1)):
		vs.Add(CodeHiringAfterYear1, "hired_on", fmt.Sprintf("the assistant is hired in the first contract year, which ends on %s", c.Years.End(1).AddDays(-1)))
	case c.Terminated() && !d.Before(c.TerminatedOn):
		vs.Add(domain.CodeContractTerminated, "hired_on", fmt.Sprintf("%s is on or after the termination on %s", d, c.TerminatedOn))
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []domain.Event{HiringCorrected{ContractID: c.ID, Corrects: cmd.Corrects, OldHiredOn: c.HiredOn, HiredOn: d,
		CorrectedOn: cmd.CorrectedOn, Reason: cmd.Reason}}, nil
}

// applyCorrection changes the state by a correction event; ok is false for
// another event.
func (c *Contract) applyCorrection(e domain.Event) bool {
	var on domain.Date
	var reason string
	switch e := e.(type) {
	case PatienteleCorrected:
		r := c.Reports[e.ContractYear]
		r.Patientele = e.Patientele
		c.Reports[e.ContractYear] = r
		on, reason = e.CorrectedOn, e.Reason
	case HiringCorrected:
		c.HiredOn = e.HiredOn
		on, reason = e.CorrectedOn, e.Reason
	case domain.TerminationCorrected:
		c.TerminatedOn = e.TerminatedOn
		on, reason = e.CorrectedOn, e.Reason
	default:
		return false
	}
	c.Corrections = append(c.Corrections, domain.CorrectionRecord{CorrectedOn: on, Reason: reason})
	return true
}

// Regularisation: every aid payment is a share of its year's aid, so the
// year's dues are the sum of its payments, all of them.

// simulate decides, on a copy of the contract without any payment, every
// payment the current facts make due, by the same functions that decide.
func (c *Contract) simulate() *Contract {
	sim := c.clone()
	sim.Payments, sim.decided = nil, map[paymentKey]int{}
	events, err := sim.decideDue(c.rules.Calendar().Before.AddDays(-1), false)
	if err != nil {
		return sim
	}
	for _, e := range events {
		_ = sim.Apply(e)
	}
	return sim
}

// finalKind is the payment that completes year k.
func (c *Contract) finalKind(k int) string {
	switch {
	case k == 1 && c.Rulebook.SplitsYear1():
		return KindYearBalance
	case k <= 2:
		return KindYearPayment
	}
	return KindInstalment2
}

// settled reports whether year k is settled: its last payment decided, or
// the year begins on or after the termination and something was decided
// for it.
func (c *Contract) settled(k int) bool {
	if _, ok := c.Payment(c.finalKind(k), k); ok {
		// The added share's year is settled with its own instalment 2.
		if _, _, _, _, extended, _ := c.ExtensionAid(k); extended {
			_, ok = c.Payment(KindExtensionInstalment2, k)
		}
		return ok
	}
	if !c.Terminated() || c.Years.Start(k).Before(c.TerminatedOn) {
		return false
	}
	return slices.ContainsFunc(c.Payments, func(p PaymentDecided) bool { return p.ContractYear == k })
}

// regularisations compares, for every settled year, what was decided with
// what the facts as they are now make due.
func (c *Contract) regularisations() []domain.YearRegularisation {
	sim := c.simulate()
	var out []domain.YearRegularisation
	for k := 1; k <= c.Years.Count; k++ {
		if !c.settled(k) {
			continue
		}
		var decided, now []domain.Line
		for _, p := range c.Payments {
			if p.ContractYear == k {
				decided = append(decided, p.Lines...)
			}
		}
		for _, p := range sim.Payments {
			if p.ContractYear == k {
				now = append(now, p.Lines...)
			}
		}
		r := domain.YearRegularisation{Year: k, Lines: domain.RegularisationLines(now, decided)}
		if len(r.Lines) == 0 {
			continue
		}
		for _, p := range c.Payments {
			if p.ContractYear != k || p.Kind == domain.KindRegularisation {
				continue
			}
			var would domain.Money
			if q, ok := sim.Payment(p.Kind, k); ok {
				would = q.Amount
			}
			if !would.Equal(p.Amount) {
				r.Changed = append(r.Changed, domain.ChangedPayment{Payment: p, Was: p.Amount, Now: would})
			}
		}
		out = append(out, r)
	}
	return out
}

// regularise decides the regularisations due as of asOf.
func (c *Contract) regularise(asOf domain.Date, pending []domain.CorrectionRecord) []PaymentDecided {
	return domain.Regularise(c.regularisations(), pending, c.Payments, asOf, func(k, n int) PaymentDecided {
		_, table, _ := c.Aid(k)
		return PaymentDecided{PaymentID: PaymentID(c.ID, fmt.Sprint(domain.KindRegularisation, "#", n), k), ContractID: c.ID,
			Rulebook: c.Rulebook.ID, Table: table, Rule: ruleText[domain.KindRegularisation]}
	})
}

// checkPrescription rejects a correction whose regularisation would recover
// money decided more than the rulebook's recovery_prescription_years before
// the correction.
func (c *Contract) checkPrescription(events []domain.Event, correctedOn domain.Date) error {
	return domain.PrescriptionAfter(c.clone(), events, (*Contract).regularisations, c.Rulebook.RecoveryPrescriptionYears, correctedOn)
}

// Forecast is a dry run of DecideDuePayments(until): what falls due by
// then and is not decided yet, with the amounts that would be decided, and
// the patientèle reports awaited for years ended by then whose report an
// instalment 2 waits for (years 2 to 4).
func (c *Contract) Forecast(until domain.Date) ([]domain.Due, error) {
	if !c.Signed {
		return nil, nil
	}
	events, err := c.decideDue(until, true)
	if err != nil {
		return nil, err
	}
	out := domain.DuesOf(events)
	for k := 2; k < c.Years.Count && k <= c.LastYear(); k++ {
		if _, reported := c.Reports[k]; reported {
			continue
		}
		end := c.Years.End(k)
		if !end.After(until) && (!c.Terminated() || end.Before(c.TerminatedOn)) {
			out = append(out, domain.Due{ContractID: c.ID, Kind: domain.KindReportAwaited, ContractYear: k, DueOn: end})
		}
	}
	return out, nil
}
