package domain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Corrections. A fact recorded wrong is corrected in the open: a correction
// event names the event it corrects, holds the old and the new values, the
// business date of the correction and its reason. Nothing recorded is
// changed. The next DecideDuePayments dated on or after the correction
// decides a regularisation for every settled contract year whose dues
// changed (see Regularise).

// KindRegularisation is the payment kind of a regularisation: what is due
// for a settled year under the corrected facts, minus what was decided.
const KindRegularisation = "regularisation"

// EventRef is the event a correction names, as the command path found it
// in the contract's stream: the domain knows facts, not event ids.
type EventRef struct {
	ID    uuid.UUID
	Found bool // the event is in the contract's stream
	// OtherStream, when the event is not in the contract's stream but in
	// another one, names it.
	OtherStream string
	Type        string
	OccurredOn  Date
	Event       Event
}

// CorrectionMeta is what every correction command carries.
type CorrectionMeta struct {
	Corrects    uuid.UUID
	CorrectedOn Date
	Reason      string
	// Target is the event Corrects names, resolved by the command path
	// before Decide.
	Target EventRef
}

// Correction is a correction command: the command path resolves its target
// with SetTarget before deciding.
type Correction interface {
	Command
	Correction() *CorrectionMeta
}

// DecodeCorrection reads the fields every correction has.
func (f Fields) DecodeCorrection(corrects, correctedOn, reason string) CorrectionMeta {
	m := CorrectionMeta{Corrects: f.UUID("corrects", corrects), CorrectedOn: f.Date("corrected_on", correctedOn)}
	f.Reason("reason", reason)
	m.Reason = reason
	return m
}

// CheckTarget records the violations of a correction's target: it must be
// an event of this contract, of one of the types the correction corrects,
// and the correction is dated on or after it. It reports whether the
// target can be used.
func (m *CorrectionMeta) CheckTarget(vs *Violations, types ...string) bool {
	t := m.Target
	switch {
	case !t.Found && t.OtherStream != "":
		vs.Add(CodeWrongEvent, "corrects", fmt.Sprintf("event %s belongs to %s, not to this contract", m.Corrects, t.OtherStream))
		return false
	case !t.Found:
		vs.Add(CodeUnknownEvent, "corrects", fmt.Sprintf("no event %s in the ledger (ledger audit shows a contract's event ids)", m.Corrects))
		return false
	case !slices.Contains(types, t.Type):
		vs.Add(CodeWrongEvent, "corrects", fmt.Sprintf("event %s is of type %s; this correction corrects an event of type %s", m.Corrects, t.Type, strings.Join(types, " or ")))
		return false
	case m.CorrectedOn.Before(t.OccurredOn):
		vs.Add(CodeCorrectedBeforeEvent, "corrected_on", fmt.Sprintf("%s is before the corrected event's date %s", m.CorrectedOn, t.OccurredOn))
		return false
	}
	return true
}

// CorrectionRecord is a correction as the contract's state keeps it until
// a regularisation takes it into account.
type CorrectionRecord struct {
	CorrectedOn Date
	Reason      string
}

// Pending returns the corrections dated on or before asOf, the latest date
// among them, and their reasons joined: what a regularisation decided as of
// asOf names.
func Pending(records []CorrectionRecord, asOf Date) (due Date, reason string, ok bool) {
	var reasons []string
	for _, r := range records {
		if r.CorrectedOn.After(asOf) {
			continue
		}
		due = MaxDate(due, r.CorrectedOn)
		if !slices.Contains(reasons, r.Reason) {
			reasons = append(reasons, r.Reason)
		}
	}
	return due, strings.Join(reasons, "; "), len(reasons) > 0
}

// Settle drops the corrections a regularisation decided on decidedOn took
// into account.
func Settle(records []CorrectionRecord, decidedOn Date) []CorrectionRecord {
	return slices.DeleteFunc(records, func(r CorrectionRecord) bool { return !r.CorrectedOn.After(decidedOn) })
}

// lineKey identifies a breakdown line across payments.
type lineKey struct{ mission, component string }

// RegularisationLines returns, for each (mission, component), the amount
// due now minus the amount decided, both sums of lines rounded to the cent;
// unchanged lines are omitted. The order is that of first appearance, now
// before decided.
func RegularisationLines(now, decided []Line) []Line {
	sums := map[lineKey]Money{}
	nowSums := map[lineKey]Money{}
	cites := map[lineKey]Line{} // the rulebook and amendment the lines now cite
	var order []lineKey
	add := func(l Line, sign int) {
		k := lineKey{l.Mission, l.Component}
		if _, ok := sums[k]; !ok {
			order = append(order, k)
		}
		if sign > 0 {
			sums[k] = sums[k].Add(l.Amount)
			nowSums[k] = nowSums[k].Add(l.Amount)
			if l.Rulebook != "" || l.Amendment != nil {
				cites[k] = l
			}
		} else {
			sums[k] = sums[k].Sub(l.Amount)
		}
	}
	for _, l := range now {
		add(l, +1)
	}
	for _, l := range decided {
		add(l, -1)
	}
	var out []Line
	for _, k := range order {
		if d := sums[k]; !d.IsZero() {
			was := nowSums[k].Sub(d)
			line := NewLine(k.mission, k.component, d, FormulaRegularisation, "now", nowSums[k], "was", was)
			line.Rulebook, line.Amendment = cites[k].Rulebook, cites[k].Amendment
			out = append(out, line)
		}
	}
	return out
}

// Sum returns the sum of lines.
func Sum(lines []Line) Money {
	var m Money
	for _, l := range lines {
		m = m.Add(l.Amount)
	}
	return m
}

// YearRegularisation is what one settled contract year needs: its lines
// (RegularisationLines), and the decided payments whose share of the
// year's dues changed, with what they hold and what they would hold now.
type YearRegularisation struct {
	Year    int
	Lines   []Line
	Changed []ChangedPayment
}

// ChangedPayment is a decided payment whose share of its year's dues the
// corrected facts change.
type ChangedPayment struct {
	Payment  PaymentDecided
	Was, Now Money
}

// Regularise turns the years to regularise into decisions as of asOf, when
// corrections dated on or before it are pending: due on the latest of them,
// with their reasons, naming the payments changed. base gives the fields of
// the scheme (ids, rulebook); payments are the contract's decisions so far.
func Regularise(rs []YearRegularisation, corrections []CorrectionRecord, payments []PaymentDecided, asOf Date,
	base func(year, n int) PaymentDecided) []PaymentDecided {
	due, reason, ok := Pending(corrections, asOf)
	if !ok {
		return nil
	}
	var out []PaymentDecided
	for _, r := range rs {
		n := 1
		for _, p := range payments {
			if p.Kind == KindRegularisation && p.ContractYear == r.Year {
				n++
			}
		}
		p := base(r.Year, n)
		p.Kind, p.ContractYear, p.DueOn, p.DecidedOn, p.Status = KindRegularisation, r.Year, due, asOf, StatusDecided
		p.Lines, p.Amount, p.Reason = r.Lines, Sum(r.Lines), reason
		for _, ch := range r.Changed {
			p.Corrects = append(p.Corrects, ch.Payment.PaymentID)
		}
		out = append(out, p)
	}
	return out
}

// PrescriptionAfter is CheckPrescription of what a correction would take
// back: after is a copy of the contract, the correction's events are
// applied to it, and the regularisations it would then owe are judged on
// the correction's date. Both schemes' corrections go through it.
func PrescriptionAfter[S State](after S, events []Event, regularisations func(S) []YearRegularisation, years int, correctedOn Date) error {
	for _, e := range events {
		if err := after.Apply(e); err != nil {
			return err
		}
	}
	return CheckPrescription(regularisations(after), years, correctedOn)
}

// CheckPrescription records a violation for each payment a correction
// dated correctedOn would recover money from (a negative regularisation
// that lowers it) when it was decided more than years before.
func CheckPrescription(rs []YearRegularisation, years int, correctedOn Date) error {
	if years <= 0 {
		return nil
	}
	limit := correctedOn.AddYears(-years)
	var vs Violations
	for _, r := range rs {
		if Sum(r.Lines).Sign() >= 0 {
			continue
		}
		for _, ch := range r.Changed {
			if ch.Now.Cmp(ch.Was) < 0 && ch.Payment.DecidedOn.Before(limit) {
				vs.Add(CodePrescribed, "corrected_on", fmt.Sprintf("the correction would recover part of the %s of year %d decided on %s, more than %d years before %s (recovery_prescription_years)",
					ch.Payment.Kind, ch.Payment.ContractYear, ch.Payment.DecidedOn, years, correctedOn))
			}
		}
	}
	return vs.Err()
}

// AsOf returns the contract state a decision dated d decides on: every
// event of the contract (history, in the order applied) but the
// corrections (correctedOn tells them and their date) dated after d — a
// decision of that date cannot know them — unless a decision already made,
// dated on or after them, took them into account: what was decided stays
// decided. It is current itself when nothing is left out, else a state
// fresh returns with the rest applied again.
func AsOf[S State](current S, history []Event, payments []PaymentDecided, d Date, correctedOn func(Event) (Date, bool), fresh func() S) S {
	horizon := d
	for _, p := range payments {
		horizon = MaxDate(horizon, p.DecidedOn)
	}
	later := func(e Event) bool {
		on, ok := correctedOn(e)
		return ok && on.After(horizon)
	}
	if !slices.ContainsFunc(history, later) {
		return current
	}
	v := fresh()
	for _, e := range history {
		if !later(e) {
			_ = v.Apply(e) // applied to current already: it applies again
		}
	}
	return v
}
