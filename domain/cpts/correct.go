package cpts

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
)

// Correction command types of the scheme (CorrectTermination is shared).
const (
	CmdCorrectReport        = "CorrectReport"
	CmdCorrectMissionDate   = "CorrectMissionDate"
	CmdCorrectContractTerms = "CorrectContractTerms"
	CmdCorrectTermination   = domain.CmdCorrectTermination
)

// Correction event types.
const (
	TypeReportCorrected        = "ReportCorrected"
	TypeMissionDateCorrected   = "MissionDateCorrected"
	TypeContractTermsCorrected = "ContractTermsCorrected"
	TypeTerminationCorrected   = domain.TypeTerminationCorrected
)

// CorrectReport replaces the values of a recorded indicator report.
type CorrectReport struct {
	CommandMeta
	domain.CorrectionMeta
	Values []IndicatorValue
}

// CorrectMissionDate replaces the date of a recorded start or deployment.
type CorrectMissionDate struct {
	CommandMeta
	domain.CorrectionMeta
	Date domain.Date
}

// CorrectContractTerms replaces terms of the signature: those given (nil:
// unchanged).
type CorrectContractTerms struct {
	CommandMeta
	domain.CorrectionMeta
	Population    *int64
	SNPRegulation *bool
	Indicators    []Indicator // nil: unchanged
}

// CorrectTermination is the shared command.
type CorrectTermination = domain.CorrectTermination

func (*CorrectReport) CommandType() string        { return CmdCorrectReport }
func (*CorrectMissionDate) CommandType() string   { return CmdCorrectMissionDate }
func (*CorrectContractTerms) CommandType() string { return CmdCorrectContractTerms }

// Correction implements domain.Correction.
func (c *CorrectReport) Correction() *domain.CorrectionMeta        { return &c.CorrectionMeta }
func (c *CorrectMissionDate) Correction() *domain.CorrectionMeta   { return &c.CorrectionMeta }
func (c *CorrectContractTerms) Correction() *domain.CorrectionMeta { return &c.CorrectionMeta }

// ReportCorrected: the values of a year's report were wrong.
type ReportCorrected struct {
	ContractID   uuid.UUID        `json:"contract_id"`
	Corrects     uuid.UUID        `json:"corrects"`
	ContractYear int              `json:"contract_year"`
	OldValues    []IndicatorValue `json:"old_values"`
	Values       []IndicatorValue `json:"values"`
	CorrectedOn  domain.Date      `json:"corrected_on"`
	Reason       string           `json:"reason"`
}

// MissionDateCorrected: the date of a mission's start or deployment was
// wrong.
type MissionDateCorrected struct {
	ContractID  uuid.UUID   `json:"contract_id"`
	Corrects    uuid.UUID   `json:"corrects"`
	Mission     string      `json:"mission"`
	Kind        string      `json:"kind"` // start or deploy
	OldDate     domain.Date `json:"old_date"`
	Date        domain.Date `json:"date"`
	CorrectedOn domain.Date `json:"corrected_on"`
	Reason      string      `json:"reason"`
}

// Terms are the terms of a signature a correction can change.
type Terms struct {
	Population    int         `json:"population"`
	Tier          string      `json:"tier"`
	SNPRegulation bool        `json:"snp_regulation"`
	Indicators    []Indicator `json:"indicators"`
}

// ContractTermsCorrected: terms of the signature were wrong.
type ContractTermsCorrected struct {
	ContractID  uuid.UUID   `json:"contract_id"`
	Corrects    uuid.UUID   `json:"corrects"`
	Old         Terms       `json:"old"`
	New         Terms       `json:"new"`
	CorrectedOn domain.Date `json:"corrected_on"`
	Reason      string      `json:"reason"`
}

// TerminationCorrected is the shared event.
type TerminationCorrected = domain.TerminationCorrected

func (ReportCorrected) EventType() string        { return TypeReportCorrected }
func (MissionDateCorrected) EventType() string   { return TypeMissionDateCorrected }
func (ContractTermsCorrected) EventType() string { return TypeContractTermsCorrected }

// CorrectedEvent implements domain.CorrectionEvent.
func (e ReportCorrected) CorrectedEvent() uuid.UUID        { return e.Corrects }
func (e MissionDateCorrected) CorrectedEvent() uuid.UUID   { return e.Corrects }
func (e ContractTermsCorrected) CorrectedEvent() uuid.UUID { return e.Corrects }

func (e ReportCorrected) BusinessDate() domain.Date        { return e.CorrectedOn }
func (e MissionDateCorrected) BusinessDate() domain.Date   { return e.CorrectedOn }
func (e ContractTermsCorrected) BusinessDate() domain.Date { return e.CorrectedOn }

type wireCorrectReport struct {
	domain.WireCorrection
	Values []wireValue `json:"values"`
}

type wireValue struct {
	Mission string                `json:"mission"`
	Code    string                `json:"code"`
	Value   domain.NumberOrString `json:"value"`
}

type wireCorrectDate struct {
	domain.WireCorrection
	Date string `json:"date"`
}

type wireCorrectTerms struct {
	domain.WireCorrection
	Population    *domain.NumberOrString `json:"population"`
	SNPRegulation *bool                  `json:"snp_regulation"`
	Indicators    []wireIndicator        `json:"indicators"`
}

type wireIndicator struct {
	Mission string                `json:"mission"`
	Code    string                `json:"code"`
	Weight  domain.NumberOrString `json:"weight"`
	Target  domain.NumberOrString `json:"target"`
}

// decodeValues converts a report's values, naming each field at fault.
func decodeValues(d *domain.CommandDecoder, ws []wireValue) []IndicatorValue {
	f := d.Fields()
	if ws == nil {
		d.V.Add(domain.CodeMissingField, "values", "is required")
		return nil
	}
	if !f.List("values", len(ws)) {
		return nil
	}
	out := make([]IndicatorValue, 0, len(ws))
	for i, v := range ws {
		field := fmt.Sprintf("values[%d]", i)
		f.Name(field+".mission", v.Mission)
		f.Name(field+".code", v.Code)
		val, _ := f.Decimal(field+".value", v.Value.Number())
		out = append(out, IndicatorValue{Mission: v.Mission, Code: v.Code, Value: val})
	}
	return out
}

// decodeIndicators converts a signature's indicators, naming each field at
// fault.
func decodeIndicators(d *domain.CommandDecoder, ws []wireIndicator) []Indicator {
	f := d.Fields()
	if !f.List("indicators", len(ws)) {
		return nil
	}
	out := make([]Indicator, 0, len(ws))
	for i, in := range ws {
		field := fmt.Sprintf("indicators[%d]", i)
		f.Name(field+".mission", in.Mission)
		f.Name(field+".code", in.Code)
		weight, _ := f.Decimal(field+".weight", in.Weight.Number())
		target, _ := f.Decimal(field+".target", in.Target.Number())
		out = append(out, Indicator{Mission: in.Mission, Code: in.Code, Weight: weight, Target: target})
	}
	return out
}

// decodeCorrection decodes the scheme's own correction commands; ok is
// false for another type.
func decodeCorrection(d *domain.CommandDecoder) (cmd Command, ok bool, err error) {
	f, meta := d.Fields(), d.Meta
	switch d.Header.Type {
	case CmdCorrectReport:
		var w wireCorrectReport
		if err := d.Decode(&w); err != nil {
			return nil, true, err
		}
		cmd = &CorrectReport{CommandMeta: meta(w.WireHeader), CorrectionMeta: w.Meta(f), Values: decodeValues(d, w.Values)}
	case CmdCorrectMissionDate:
		var w wireCorrectDate
		if err := d.Decode(&w); err != nil {
			return nil, true, err
		}
		cmd = &CorrectMissionDate{CommandMeta: meta(w.WireHeader), CorrectionMeta: w.Meta(f), Date: f.Date("date", w.Date)}
	case CmdCorrectContractTerms:
		var w wireCorrectTerms
		if err := d.Decode(&w); err != nil {
			return nil, true, err
		}
		c := &CorrectContractTerms{CommandMeta: meta(w.WireHeader), CorrectionMeta: w.Meta(f), SNPRegulation: w.SNPRegulation}
		if w.Population != nil {
			if p, ok := f.Int("population", w.Population.Number()); ok {
				c.Population = &p
			}
		}
		if w.Indicators != nil {
			c.Indicators = decodeIndicators(d, w.Indicators)
			if c.Indicators == nil {
				c.Indicators = []Indicator{}
			}
		}
		cmd = c
	default:
		return nil, false, nil
	}
	cmd, err = d.Result(cmd)
	return cmd, true, err
}

// decideCorrection decides the scheme's corrections; ok is false for
// another command.
func decideCorrection(c *Contract, cmd Command) (events []Event, ok bool, err error) {
	switch cmd := cmd.(type) {
	case *CorrectReport:
		events, err = decideCorrectReport(c, cmd)
	case *CorrectMissionDate:
		events, err = decideCorrectMissionDate(c, cmd)
	case *CorrectContractTerms:
		events, err = decideCorrectTerms(c, cmd)
	case *CorrectTermination:
		events, err = domain.DecideCorrectTermination(cmd, c.ID, c.Years, c.TerminatedOn, func(vs *domain.Violations) {
			c.checkFactsBefore(vs, cmd.TerminatedOn)
			// A report is dated on or after the end of its year, or the
			// termination: a later termination must not make one premature.
			for k := 1; k <= c.Years.Count; k++ {
				r, ok := c.Reports[k]
				if !ok {
					continue
				}
				end := c.Years.End(k)
				if cmd.TerminatedOn.Before(end) {
					end = domain.MaxDate(cmd.TerminatedOn, c.Years.Start(k))
				}
				if r.ReportedOn.Before(end) {
					vs.Add(domain.CodeYearNotEnded, "terminated_on", fmt.Sprintf("year %d was reported on %s, before its end on %s under this termination date", k, r.ReportedOn, end))
				}
			}
		})
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

func decideCorrectReport(c *Contract, cmd *CorrectReport) ([]Event, error) {
	var vs domain.Violations
	if !cmd.CheckTarget(&vs, TypeIndicatorsReported) {
		return nil, vs.Err()
	}
	k := cmd.Target.Event.(IndicatorsReported).ContractYear
	c.checkValues(&vs, k, cmd.Values)
	old := c.Reports[k].Values
	if len(vs) == 0 && sameValues(old, cmd.Values) {
		vs.Add(domain.CodeNoChange, "values", fmt.Sprintf("these are the values of year %d already", k))
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []Event{ReportCorrected{ContractID: c.ID, Corrects: cmd.Corrects, ContractYear: k, OldValues: old, Values: cmd.Values,
		CorrectedOn: cmd.CorrectedOn, Reason: cmd.Reason}}, nil
}

func sameValues(a, b []IndicatorValue) bool {
	if len(a) != len(b) {
		return false
	}
	for _, v := range a {
		i := slices.IndexFunc(b, func(w IndicatorValue) bool { return w.Mission == v.Mission && w.Code == v.Code })
		if i < 0 || !b[i].Value.Equal(v.Value) {
			return false
		}
	}
	return true
}

func decideCorrectMissionDate(c *Contract, cmd *CorrectMissionDate) ([]Event, error) {
	var vs domain.Violations
	if !cmd.CheckTarget(&vs, TypeMissionStarted, TypeMissionDeployed) {
		return nil, vs.Err()
	}
	var m, kind string
	switch e := cmd.Target.Event.(type) {
	case MissionStarted:
		m, kind = e.Mission, DeadlineStart
	case MissionDeployed:
		m, kind = e.Mission, DeadlineDeploy
	}
	d := cmd.Date
	old := c.Starts[m]
	if kind == DeadlineDeploy {
		old = c.Deploys[m]
	}
	end := c.Years.End(c.Years.Count)
	switch {
	case d.Equal(old):
		vs.Add(domain.CodeNoChange, "date", fmt.Sprintf("mission %q's %s is dated %s already", m, kind, old))
	case d.Before(c.Terms.SignedOn):
		vs.Add(domain.CodeDateBeforeSignature, "date", fmt.Sprintf("%s is before the signature on %s", d, c.Terms.SignedOn))
	case !d.Before(end):
		vs.Add(domain.CodeDateAfterContract, "date", fmt.Sprintf("%s is after the contract's end on %s", d, end.AddDays(-1)))
	case c.Terminated() && !d.Before(c.TerminatedOn):
		vs.Add(CodeFactsAfterTermination, "date", fmt.Sprintf("%s is on or after the termination on %s", d, c.TerminatedOn))
	case kind == DeadlineStart && !c.Deploys[m].IsZero() && c.Deploys[m].Before(d):
		vs.Add(CodeDateBeforeStart, "date", fmt.Sprintf("mission %q was deployed on %s, before %s", m, c.Deploys[m], d))
	case kind == DeadlineDeploy && d.Before(c.Starts[m]):
		vs.Add(CodeDateBeforeStart, "date", fmt.Sprintf("%s is before the mission's start on %s", d, c.Starts[m]))
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []Event{MissionDateCorrected{ContractID: c.ID, Corrects: cmd.Corrects, Mission: m, Kind: kind, OldDate: old, Date: d,
		CorrectedOn: cmd.CorrectedOn, Reason: cmd.Reason}}, nil
}

// termsOf returns the contract's current terms.
func (c *Contract) termsOf() Terms {
	return Terms{Population: c.Terms.Population, Tier: c.Terms.Tier, SNPRegulation: c.Terms.SNPRegulation, Indicators: c.Terms.Indicators}
}

func decideCorrectTerms(c *Contract, cmd *CorrectContractTerms) ([]Event, error) {
	var vs domain.Violations
	if !cmd.CheckTarget(&vs, TypeContractSigned) {
		return nil, vs.Err()
	}
	old := c.termsOf()
	nt := old
	if cmd.Population != nil {
		if *cmd.Population <= 0 {
			vs.Add(CodePopulationNotPositive, "population", fmt.Sprintf("must be a positive whole number, got %d", *cmd.Population))
		} else if t, ok := c.Rulebook.TierFor(int(*cmd.Population)); ok {
			nt.Population, nt.Tier = int(*cmd.Population), t.Code
		}
	}
	if cmd.SNPRegulation != nil {
		nt.SNPRegulation = *cmd.SNPRegulation
	}
	if cmd.Indicators != nil {
		seen := map[string]bool{}
		for _, m := range c.Terms.Missions {
			seen[m] = true
		}
		checkIndicators(&vs, c.Rulebook, seen, cmd.Indicators)
		nt.Indicators = cmd.Indicators
		c.checkReportedIndicators(&vs, cmd.Indicators)
	}
	if len(vs) == 0 && nt.Population == old.Population && nt.SNPRegulation == old.SNPRegulation && sameIndicators(nt.Indicators, old.Indicators) {
		vs.Add(domain.CodeNoChange, "", "the contract has these terms already")
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []Event{ContractTermsCorrected{ContractID: c.ID, Corrects: cmd.Corrects, Old: old, New: nt,
		CorrectedOn: cmd.CorrectedOn, Reason: cmd.Reason}}, nil
}

func sameIndicators(a, b []Indicator) bool {
	return slices.EqualFunc(a, b, func(x, y Indicator) bool {
		return x.Mission == y.Mission && x.Code == y.Code && x.Weight.Equal(y.Weight) && x.Target.Equal(y.Target)
	})
}

// checkReportedIndicators keeps the reports valid: each year reported
// holds a value for each indicator of its missions, so the codes of a
// reported mission's indicators cannot change (their weights and targets
// can).
func (c *Contract) checkReportedIndicators(vs *domain.Violations, inds []Indicator) {
	for k, r := range c.Reports {
		for _, m := range c.ActiveMissions(k) {
			var was, now []string
			for _, in := range c.Terms.Indicators {
				if in.Mission == m {
					was = append(was, in.Code)
				}
			}
			for _, in := range inds {
				if in.Mission == m {
					now = append(now, in.Code)
				}
			}
			slices.Sort(was)
			slices.Sort(now)
			if !slices.Equal(was, now) {
				vs.Add(CodeIndicatorsReported, "indicators", fmt.Sprintf("mission %q's indicators (%s) have values in the report of year %d (%s): their codes stay; weights and targets may change",
					m, strings.Join(was, ", "), k, r.ReportedOn))
				return
			}
		}
	}
}

// checkFactsBefore records a violation for each start or deployment on or
// after a termination date.
func (c *Contract) checkFactsBefore(vs *domain.Violations, d domain.Date) {
	for _, m := range c.Missions() {
		if s, ok := c.Starts[m]; ok && !s.Before(d) {
			vs.Add(CodeFactsAfterTermination, "terminated_on", fmt.Sprintf("mission %q started on %s, on or after %s", m, s, d))
		}
		if s, ok := c.Deploys[m]; ok && !s.Before(d) {
			vs.Add(CodeFactsAfterTermination, "terminated_on", fmt.Sprintf("mission %q was deployed on %s, on or after %s", m, s, d))
		}
	}
}

// applyCorrection changes the state by a correction event; ok is false for
// another event.
func (c *Contract) applyCorrection(e Event) bool {
	var on domain.Date
	var reason string
	switch e := e.(type) {
	case ReportCorrected:
		r := c.Reports[e.ContractYear]
		r.Values = e.Values
		c.Reports[e.ContractYear] = r
		on, reason = e.CorrectedOn, e.Reason
	case MissionDateCorrected:
		if e.Kind == DeadlineDeploy {
			c.Deploys[e.Mission] = e.Date
		} else {
			c.Starts[e.Mission] = e.Date
		}
		on, reason = e.CorrectedOn, e.Reason
	case ContractTermsCorrected:
		c.Terms.Population, c.Terms.Tier, c.Terms.SNPRegulation, c.Terms.Indicators = e.New.Population, e.New.Tier, e.New.SNPRegulation, e.New.Indicators
		on, reason = e.CorrectedOn, e.Reason
	case TerminationCorrected:
		c.TerminatedOn = e.TerminatedOn
		on, reason = e.CorrectedOn, e.Reason
	default:
		return false
	}
	c.Corrections = append(c.Corrections, domain.CorrectionRecord{CorrectedOn: on, Reason: reason})
	return true
}

// Regularisation.

// farFuture is the date the simulation of decisions runs to: every payment
// the facts make due.
func (c *Contract) farFuture() domain.Date { return c.rules.Calendar().Before.AddDays(-1) }

// simulate decides, on a copy of the contract without any payment, every
// payment the current facts make due: what would be decided now, by the
// same functions that decide.
func (c *Contract) simulate() *Contract {
	sim := c.clone()
	sim.Payments, sim.decided = nil, map[paymentKey]int{}
	events, err := sim.decideDue(sim.farFuture(), false, nil)
	if err != nil {
		return sim
	}
	for _, e := range events {
		_ = sim.Apply(e)
	}
	return sim
}

// settled reports whether year k is settled: its balance decided, or the
// year begins on or after the termination and something was decided for
// it (it will have no balance).
func (c *Contract) settled(k int) bool {
	if c.YearClosed(k) {
		return true
	}
	if !c.Terminated() || c.Years.Start(k).Before(c.TerminatedOn) {
		return false
	}
	return slices.ContainsFunc(c.Payments, func(p PaymentDecided) bool { return p.ContractYear == k })
}

// isAdvance tells the payments that move money within a year: its balance
// deducts them.
func isAdvance(kind string) bool {
	return kind == KindMissionStartAdvance || kind == KindAnnualAdvance || kind == KindRecovery || kind == domain.KindRegularisation
}

// contributions returns, per payment of year k, the lines it adds to what
// the year pays in the end: with a balance, the advances (and what came
// before the balance) are deducted by it and add nothing, and the balance
// adds its due lines, not its deduction; without one, every line adds.
func contributions(ps []PaymentDecided, k int) map[int][]Line {
	balance := slices.IndexFunc(ps, func(p PaymentDecided) bool { return p.Kind == KindAnnualBalance && p.ContractYear == k })
	out := map[int][]Line{}
	for i, p := range ps {
		if p.ContractYear != k {
			continue
		}
		switch {
		case balance >= 0 && i < balance && isAdvance(p.Kind):
		case p.Kind == KindAnnualBalance:
			out[i] = slices.DeleteFunc(slices.Clone(p.Lines), func(l Line) bool { return l.Component == "advances" })
		default:
			out[i] = p.Lines
		}
	}
	return out
}

// regularisations compares, for every settled year, what was decided with
// what the facts as they are now make due (simulate), and returns the
// years that differ.
func (c *Contract) regularisations() []domain.YearRegularisation {
	sim := c.simulate()
	var out []domain.YearRegularisation
	for k := 1; k <= c.Years.Count; k++ {
		if !c.settled(k) {
			continue
		}
		decided, now := contributions(c.Payments, k), contributions(sim.Payments, k)
		var decidedLines, nowLines []Line
		for _, i := range sortedKeys(decided) {
			decidedLines = append(decidedLines, decided[i]...)
		}
		for _, i := range sortedKeys(now) {
			nowLines = append(nowLines, now[i]...)
		}
		r := domain.YearRegularisation{Year: k, Lines: domain.RegularisationLines(nowLines, decidedLines)}
		if len(r.Lines) == 0 {
			continue
		}
		for _, i := range sortedKeys(decided) {
			p := c.Payments[i]
			if p.Kind == domain.KindRegularisation {
				continue
			}
			var counterpart []Line
			if j := slices.IndexFunc(sim.Payments, func(q PaymentDecided) bool {
				return q.Kind == p.Kind && q.ContractYear == p.ContractYear && q.Mission == p.Mission
			}); j >= 0 {
				counterpart = now[j]
			}
			if len(domain.RegularisationLines(counterpart, decided[i])) > 0 {
				r.Changed = append(r.Changed, domain.ChangedPayment{Payment: p, Was: domain.Sum(decided[i]), Now: domain.Sum(counterpart)})
			}
		}
		out = append(out, r)
	}
	return out
}

func sortedKeys(m map[int][]Line) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// regularise decides the regularisations due as of asOf for the pending
// corrections (domain.md, corrections).
func (c *Contract) regularise(asOf domain.Date, pending []domain.CorrectionRecord) []PaymentDecided {
	return domain.Regularise(c.regularisations(), pending, c.Payments, asOf, func(k, n int) PaymentDecided {
		return PaymentDecided{PaymentID: PaymentID(c.ID, domain.KindRegularisation, k, fmt.Sprint(n)), ContractID: c.ID,
			Rulebook: c.Rulebook.ID, Rule: ruleText[domain.KindRegularisation]}
	})
}

// regulariseNewlySettled regularises the years this decision settled
// whose decisions differ from what the facts as they are make due, when no
// correction is pending any more. That happens to what a year's balance
// does not deduct (the signature, an amorcage top-up) when it was decided
// before a correction that a regularisation of the other, settled years
// took into account before this year was settled: without this, the year
// would keep its old amount, and its total would depend on the order in
// which the facts were recorded. The regularisation cites the corrections
// recorded after the first payment it changes and dated by asOf, and falls
// due on the latest of them.
func (c *Contract) regulariseNewlySettled(settledBefore map[int]bool, pending []domain.CorrectionRecord, asOf domain.Date) []PaymentDecided {
	if _, _, any := domain.Pending(pending, asOf); any {
		return nil // regularise did every settled year
	}
	var out []PaymentDecided
	for _, r := range c.regularisations() {
		if settledBefore[r.Year] || len(r.Changed) == 0 {
			continue
		}
		records := c.reflected(r.Changed, asOf)
		if len(records) == 0 {
			continue // nothing recorded explains it: nothing to regularise
		}
		out = append(out, domain.Regularise([]domain.YearRegularisation{r}, records, c.Payments, asOf, func(k, n int) PaymentDecided {
			return PaymentDecided{PaymentID: PaymentID(c.ID, domain.KindRegularisation, k, fmt.Sprint(n)), ContractID: c.ID,
				Rulebook: c.Rulebook.ID, Rule: ruleText[domain.KindRegularisation]}
		})...)
	}
	return out
}

// reflected returns the corrections recorded after the first of the
// changed payments and dated on or before asOf, as records.
func (c *Contract) reflected(changed []domain.ChangedPayment, asOf domain.Date) []domain.CorrectionRecord {
	ids := map[uuid.UUID]bool{}
	for _, ch := range changed {
		ids[ch.Payment.PaymentID] = true
	}
	first := slices.IndexFunc(c.history, func(e Event) bool {
		p, ok := e.(PaymentDecided)
		return ok && ids[p.PaymentID]
	})
	if first < 0 {
		return nil
	}
	var out []domain.CorrectionRecord
	for _, e := range c.history[first:] {
		if on, ok := correctedOn(e); ok && !on.After(asOf) {
			out = append(out, domain.CorrectionRecord{CorrectedOn: on, Reason: reasonOf(e)})
		}
	}
	return out
}

// reasonOf returns a correction event's reason.
func reasonOf(e Event) string {
	switch e := e.(type) {
	case ReportCorrected:
		return e.Reason
	case MissionDateCorrected:
		return e.Reason
	case ContractTermsCorrected:
		return e.Reason
	case TerminationCorrected:
		return e.Reason
	case RulebookAmendmentApplied:
		return e.Reason
	case CrisisNoted:
		return e.Reason
	}
	return ""
}

// checkPrescription rejects a correction whose regularisation would recover
// money decided more than the rulebook's recovery_prescription_years before
// the correction (CSS art. L.133-4, domain.md).
func (c *Contract) checkPrescription(events []Event, correctedOn domain.Date) error {
	return domain.PrescriptionAfter(c.clone(), events, (*Contract).regularisations, c.Rulebook.RecoveryPrescriptionYears, correctedOn)
}

// Forecast is a dry run of DecideDuePayments(until): what falls due by
// then and is not decided yet, with the amounts that would be decided, and
// the reports awaited for years ended by then (domain.md 2.4).
func (c *Contract) Forecast(until domain.Date) ([]domain.Due, error) {
	return c.ForecastWith(until, nil)
}

// ForecastWith is Forecast with the reference facts as they stand (the
// amendments and crises a decision would note first).
func (c *Contract) ForecastWith(until domain.Date, ref *Reference) ([]domain.Due, error) {
	if !c.Signed {
		return nil, nil
	}
	events, err := c.decideDue(until, true, ref)
	if err != nil {
		return nil, err
	}
	out := domain.DuesOf(events)
	for k := 1; k <= c.LastYear(); k++ {
		if _, reported := c.Reports[k]; reported {
			continue
		}
		if end := c.PeriodEnd(k); !end.After(until) && end.After(c.Years.Start(k)) {
			out = append(out, domain.Due{ContractID: c.ID, Kind: domain.KindReportAwaited, ContractYear: k, DueOn: end})
		}
	}
	return out, nil
}
