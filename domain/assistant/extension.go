package assistant

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
)

// Two facts the 2024 convention and avenant 7 added to a contract after its
// signature (docs/domain.md §3.4 and §3.5): an extension of the assistant's
// FTE share, and the doctor's joining a coordinated practice.

// Command and event types.
const (
	CmdExtendAssistant             = "ExtendAssistant"
	CmdRecordCoordinatedPractice   = "RecordCoordinatedPractice"
	TypeAssistantExtended          = "AssistantExtended"
	TypeCoordinatedPracticeJoined  = "CoordinatedPracticeJoined"
	KindExtensionInstalment1       = "extension_instalment_1"
	KindExtensionInstalment2       = "extension_instalment_2"
	ComponentExtension             = "extension"
	DeadlineCoordinatedPractice    = "coordinated_practice"
	DeadlineKindCommitment         = "commitment"
	coordinatedPracticeFormsString = "cpts, msp, esp, ess, cds, other"
)

// CoordinatedPracticeForms are the forms of coordinated practice a doctor
// may join (seed 003: "ESP, CPTS, MSP, ..."; a health centre, cds).
var CoordinatedPracticeForms = strings.Split(coordinatedPracticeFormsString, ", ")

// ExtendAssistant adds an FTE share of assistant to a contract (2024
// convention): AddedFTE "1/2" or "1", from On, the doctor practising in a
// priority zone.
type ExtendAssistant struct {
	domain.CommandMeta
	AddedFTE     string
	On           domain.Date
	PriorityZone bool
}

// RecordCoordinatedPractice records the day the doctor joined a
// coordinated practice, the commitment of an am-2019 contract signed
// without one.
type RecordCoordinatedPractice struct {
	domain.CommandMeta
	JoinedOn domain.Date
	Form     string
}

func (ExtendAssistant) CommandType() string           { return CmdExtendAssistant }
func (RecordCoordinatedPractice) CommandType() string { return CmdRecordCoordinatedPractice }

// AssistantExtended: the contract's assistant share grows by AddedFTE from
// On, under the rulebook in force that day.
type AssistantExtended struct {
	ContractID   uuid.UUID   `json:"contract_id"`
	AddedFTE     string      `json:"added_fte"`
	On           domain.Date `json:"on"`
	PriorityZone bool        `json:"priority_zone"`
	Rulebook     string      `json:"rulebook"`
}

// CoordinatedPracticeJoined: the doctor joined a coordinated practice.
type CoordinatedPracticeJoined struct {
	ContractID uuid.UUID   `json:"contract_id"`
	JoinedOn   domain.Date `json:"joined_on"`
	Form       string      `json:"form"`
}

func (AssistantExtended) EventType() string                   { return TypeAssistantExtended }
func (CoordinatedPracticeJoined) EventType() string           { return TypeCoordinatedPracticeJoined }
func (e AssistantExtended) BusinessDate() domain.Date         { return e.On }
func (e CoordinatedPracticeJoined) BusinessDate() domain.Date { return e.JoinedOn }

type wireExtend struct {
	domain.WireHeader
	AddedFTE     string `json:"added_fte"`
	On           string `json:"on"`
	PriorityZone *bool  `json:"priority_zone"`
}

type wireJoin struct {
	domain.WireHeader
	JoinedOn string `json:"joined_on"`
	Form     string `json:"form"`
}

// decodeLater decodes the two commands; ok is false for another type.
func decodeLater(d *domain.CommandDecoder) (cmd domain.Command, ok bool, err error) {
	f := d.Fields()
	switch d.Header.Type {
	case CmdExtendAssistant:
		var w wireExtend
		if err := d.Decode(&w); err != nil {
			return nil, true, err
		}
		c := ExtendAssistant{CommandMeta: d.Meta(w.WireHeader), AddedFTE: w.AddedFTE, On: f.Date("on", w.On)}
		if f.Required("added_fte", w.AddedFTE) && w.AddedFTE != "1/2" && w.AddedFTE != "1" {
			d.V.Add(domain.CodeInvalidValue, "added_fte", fmt.Sprintf(`must be "1/2" or "1", got %q`, w.AddedFTE))
		}
		if w.PriorityZone == nil {
			d.V.Add(domain.CodeMissingField, "priority_zone", "is required (true or false)")
		} else {
			c.PriorityZone = *w.PriorityZone
		}
		cmd = c
	case CmdRecordCoordinatedPractice:
		var w wireJoin
		if err := d.Decode(&w); err != nil {
			return nil, true, err
		}
		if f.Required("form", w.Form) && !slices.Contains(CoordinatedPracticeForms, w.Form) {
			d.V.Add(domain.CodeInvalidValue, "form", fmt.Sprintf("must be one of %s, got %q", coordinatedPracticeFormsString, w.Form))
		}
		cmd = RecordCoordinatedPractice{CommandMeta: d.Meta(w.WireHeader), JoinedOn: f.Date("joined_on", w.JoinedOn), Form: w.Form}
	default:
		return nil, false, nil
	}
	cmd, err = d.Result(cmd)
	return cmd, true, err
}

// ExtensionRule is the 2024 convention's extension: a doctor of one of
// Specialties with the FullTimeOption, from contract year FromYear, the
// last objective met, in a priority zone, may add one of AddedFTE.
type ExtensionRule struct {
	FromYear             int      `json:"from_year"`
	FullTimeOption       string   `json:"full_time_option"`
	Specialties          []string `json:"specialties"`
	AddedFTE             []string `json:"added_fte"`
	RequiresPriorityZone bool     `json:"requires_priority_zone"`
	Source               string   `json:"source"`
}

// Commitment is avenant 7's commitment to a coordinated practice within
// Months of the signature, for a doctor who signs without one.
type Commitment struct {
	Months int    `json:"months"`
	Source string `json:"source"`
}

func decideExtend(c *Contract, cmd ExtendAssistant) ([]domain.Event, error) {
	var vs domain.Violations
	rb, ok := c.rules.InForce(cmd.On)
	if !ok || rb.Extension == nil {
		vs.Add(CodeExtensionNotOpen, "on", fmt.Sprintf("no rulebook in force on %s opens an extension of the assistant (the 2024 convention does from 2024-06-22)", cmd.On))
		return nil, vs.Err()
	}
	x := rb.Extension
	k := c.Years.Of(cmd.On)
	switch {
	case c.Terminated() && !cmd.On.Before(c.TerminatedOn):
		vs.Add(domain.CodeContractTerminated, "on", fmt.Sprintf("the contract was terminated on %s", c.TerminatedOn))
	case c.Extension != nil:
		vs.Add(CodeExtensionExists, "on", fmt.Sprintf("the contract was extended by %s FTE on %s; one extension per contract", c.Extension.AddedFTE, c.Extension.On))
	case !c.Hired() || cmd.On.Before(c.HiredOn):
		vs.Add(CodeExtensionNeedsFullTime, "on", "the assistant is not hired by "+cmd.On.String())
	case k < x.FromYear:
		vs.Add(CodeExtensionTooEarly, "on", fmt.Sprintf("%s rules an extension from contract year %d; %s is in year %d (year %d begins on %s)", rb.ID, x.FromYear, cmd.On, max(k, 0), x.FromYear, c.Years.Start(x.FromYear)))
	}
	if !slices.Contains(x.AddedFTE, cmd.AddedFTE) {
		vs.Add(domain.CodeInvalidValue, "added_fte", fmt.Sprintf("%s adds %s FTE, got %q", rb.ID, strings.Join(x.AddedFTE, " or "), cmd.AddedFTE))
	}
	if c.Terms.Option != x.FullTimeOption {
		vs.Add(CodeExtensionNeedsFullTime, "contract_id", fmt.Sprintf("%s extends a contract for a full-time assistant (option %s); this one is for %s", rb.ID, x.FullTimeOption, c.Terms.Option))
	}
	if !slices.Contains(x.Specialties, c.Terms.Doctor.Specialty) {
		vs.Add(CodeExtensionSpecialty, "contract_id", fmt.Sprintf("%s extends the contracts of %s only; this doctor is in %s", rb.ID, strings.Join(x.Specialties, ", "), c.Terms.Doctor.Specialty))
	}
	if x.RequiresPriorityZone && !cmd.PriorityZone {
		vs.Add(CodeExtensionOutsidePriorityZone, "priority_zone", rb.ID+" extends the contracts of doctors in a priority zone only")
	}
	if why, met := c.lastObjectiveMet(cmd.On); !met {
		vs.Add(CodeExtensionObjectiveNotMet, "on", fmt.Sprintf("%s extends a contract whose last objective was met: %s", rb.ID, why))
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []domain.Event{AssistantExtended{ContractID: c.ID, AddedFTE: cmd.AddedFTE, On: cmd.On, PriorityZone: cmd.PriorityZone, Rulebook: rb.ID}}, nil
}

// lastObjectiveMet reports whether the last patientèle reported for a
// year ended by on reached the objective (rate 1 for the year after it),
// and, when not, why.
func (c *Contract) lastObjectiveMet(on domain.Date) (string, bool) {
	last := 0
	for k := range c.Reports {
		if k > last && !c.Years.End(k).After(on) {
			last = k
		}
	}
	if last == 0 {
		return "no patientèle is reported yet", false
	}
	rate, _ := c.Rate(last + 1)
	if rate.Cmp(domain.ExactInt(1)) < 0 {
		r := c.Reports[last]
		return fmt.Sprintf("year %d's patientèle, %d, reached rate %s of the objective (target %d)", last, r.Patientele, rate.Decimal(4), c.Terms.PatienteleTarget), false
	}
	return "", true
}

func decideJoin(c *Contract, cmd RecordCoordinatedPractice) ([]domain.Event, error) {
	var vs domain.Violations
	switch {
	case c.Terminated():
		vs.Add(domain.CodeContractTerminated, "", fmt.Sprintf("the contract was terminated on %s", c.TerminatedOn))
	case c.Commitment() == nil:
		vs.Add(CodeNoCommitment, "contract_id", fmt.Sprintf("the contract (%s) has no commitment to a coordinated practice: the doctor was in one at signature, or the rulebook asks none", c.Terms.Rulebook))
	case !c.CoordinatedOn.IsZero():
		vs.Add(CodeCommitmentRecorded, "joined_on", fmt.Sprintf("the doctor joined a coordinated practice on %s", c.CoordinatedOn))
	case cmd.JoinedOn.Before(c.Terms.SignedOn):
		vs.Add(domain.CodeDateBeforeSignature, "joined_on", fmt.Sprintf("%s is before the signature on %s", cmd.JoinedOn, c.Terms.SignedOn))
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []domain.Event{CoordinatedPracticeJoined{ContractID: c.ID, JoinedOn: cmd.JoinedOn, Form: cmd.Form}}, nil
}

// CommitmentDeadline is the deadline of the contract's commitment to a
// coordinated practice, and the date it was met (zero while it is not).
type CommitmentDeadline struct {
	Months   int
	Deadline domain.Date
	Done     domain.Date
}

// Commitment returns the contract's commitment to a coordinated practice:
// nil when the doctor was in one at signature or the rulebook asks none.
func (c *Contract) Commitment() *CommitmentDeadline {
	if !c.Signed || c.Terms.Doctor.CoordinatedPractice || c.Rulebook.CoordinationCommitment == nil {
		return nil
	}
	m := c.Rulebook.CoordinationCommitment.Months
	return &CommitmentDeadline{Months: m, Deadline: c.Terms.SignedOn.AddMonths(m), Done: c.CoordinatedOn}
}

// suspendedUntil is when a payment due on due falls due under the
// commitment: from the deadline, while the doctor has not joined a
// coordinated practice, no payment falls due (ok false); the payments
// suspended fall due on the day the doctor joins (docs/domain.md §3.5).
func (c *Contract) suspendedUntil(due domain.Date) (domain.Date, bool) {
	cm := c.Commitment()
	if cm == nil || due.Before(cm.Deadline) {
		return due, true
	}
	if cm.Done.IsZero() {
		return domain.Date{}, false
	}
	return domain.MaxDate(due, cm.Done), true
}

// ExtensionAid returns the aid of contract year k for the added share: the
// table in force on the later of the year's first day and the extension,
// its row for the added FTE, times the share of the year from the
// extension (days / year_days); ok is false for a year before it.
func (c *Contract) ExtensionAid(k int) (aid domain.Exact, table string, days, yearDays int, ok bool, err error) {
	x := c.Extension
	if x == nil || k < c.Years.Of(x.On) || k > c.Years.Count || c.Years.Of(x.On) < 1 {
		return domain.Exact{}, "", 0, 0, false, nil
	}
	from := domain.MaxDate(c.Years.Start(k), x.On)
	t, found := c.rules.TableOn(from)
	if !found {
		return domain.Exact{}, "", 0, 0, false, fmt.Errorf("assistant: no aid table in force on %s", from)
	}
	a, found := t.Options[x.AddedFTE].Aid(k, c.Terms.Band)
	if !found {
		return domain.Exact{}, t.ID, 0, 0, false, fmt.Errorf("assistant: table %s has no year-%d aid for option %s", t.ID, k, x.AddedFTE)
	}
	days, yearDays = from.DaysUntil(c.Years.End(k)), c.Years.Days(k)
	return domain.ExactDecimal(a), t.ID, days, yearDays, true, nil
}

// extensionCandidates adds the added share's payments: instalment 1 at the
// later of the year's start and the extension, instalment 2 with the
// year's own instalment 2 (not before the extension).
func (c *Contract) extensionCandidates(add func(kind string, k int, due domain.Date)) {
	x := c.Extension
	if x == nil {
		return
	}
	for k := max(c.Years.Of(x.On), 1); k <= c.Years.Count; k++ {
		add(KindExtensionInstalment1, k, domain.MaxDate(c.Years.Start(k), x.On))
		if r, ok := c.Reports[k-1]; ok {
			due := domain.MaxDate(c.Years.Start(k).AddMonths(c.Rulebook.Instalment2AfterMonths), r.ReportedOn)
			add(KindExtensionInstalment2, k, domain.MaxDate(due, x.On))
		}
	}
}

// computeExtension decides one payment of the added share.
func (c *Contract) computeExtension(cand candidate, decidedOn domain.Date) (PaymentDecided, error) {
	aid, table, days, yearDays, ok, err := c.ExtensionAid(cand.year)
	if err != nil || !ok {
		return PaymentDecided{}, fmt.Errorf("assistant: no extension aid for year %d: %v", cand.year, err)
	}
	share := aid.Mul(domain.Ratio(int64(days), int64(yearDays)))
	x := c.Extension
	args := []any{"year", cand.year, "aid", aid.Decimal(2), "added_fte", x.AddedFTE, "days", days, "year_days", yearDays}
	amount, formula := domain.Money{}, domain.FormulaAidExtension1
	if cand.kind == KindExtensionInstalment1 {
		amount, _, _, _ = c.instalment(share, cand.year, "")
		args = append(args, "rate", c.Rulebook.Instalment1Rate)
	} else {
		rate, first, err := domain.Exact{}, domain.Money{}, error(nil)
		if amount, rate, first, err = c.instalment(share, cand.year, KindExtensionInstalment1); err != nil {
			return PaymentDecided{}, err
		}
		formula, args = domain.FormulaAidExtension2, append(args, "rate", rate.Decimal(6), "first", first)
	}
	args = append(args, "table", table, "band", c.Terms.Band)
	return c.payment(cand, decidedOn, x.Rulebook, table, domain.NewLine("", ComponentExtension, amount, formula, args...)), nil
}
