package domain

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Event is an event of any scheme: its type name and its business date.
type Event interface {
	EventType() string
	// BusinessDate is the date the fact happened on (occurred_on).
	BusinessDate() Date
}

// Command is a decoded command of any scheme.
type Command interface {
	CommandType() string
	Meta() CommandMeta
}

// Signature is a command that signs a contract, or the event it gives:
// it names who the contract is with and the CPAM that manages it (what an
// agent limited to one CPAM may write is decided on it).
type Signature interface {
	Party() (name, cpam string)
}

// CommandMeta is the part every command shares.
type CommandMeta struct {
	CommandID  string
	ContractID uuid.UUID
}

// Meta returns the command id and contract id.
func (m CommandMeta) Meta() CommandMeta { return m }

// State is a contract's state, folded from its events.
type State interface {
	Apply(Event) error
}

// Scheme is one payment scheme of the ledger (cpts, assistant): how its
// commands are decoded and decided, and its events decoded. The command
// path, the projections and the relay serve every scheme through it.
type Scheme interface {
	// Name is the scheme's name in streams and subjects.
	Name() string
	// Commands lists the command types only this scheme accepts; the shared
	// ones (DecideDuePayments, TerminateContract) go to the scheme of the
	// contract's stream.
	Commands() []string
	DecodeCommand(raw []byte) (Command, error)
	NewState(contract uuid.UUID) State
	Decide(state State, cmd Command) ([]Event, error)
	DecodeEvent(typ string, schemaVersion int, data []byte) (Event, error)
	EventTypes() []string
	// Calendar is the span of business dates the scheme judges.
	Calendar() Calendar
	// Forecast is a dry run of DecideDuePayments(until) on the state,
	// nothing recorded: what falls due by then and is not decided yet,
	// with the amounts that would be decided, and the reports awaited.
	Forecast(state State, until Date) ([]Due, error)
}

// CalendarOf returns the span of dates that any of the schemes judges: the
// bounds of a query's --as-of.
func CalendarOf(schemes []Scheme) Calendar {
	var c Calendar
	for _, s := range schemes {
		c = c.Union(s.Calendar())
	}
	return c
}

// SchemaVersion is the version of every event type's data in every scheme;
// a change that is not additive gets a new version and an upcaster in the
// scheme's DecodeEvent.
const SchemaVersion = 1

// Shared command types: they exist in every scheme.
const (
	CmdDecideDuePayments  = "DecideDuePayments"
	CmdTerminateContract  = "TerminateContract"
	CmdCorrectTermination = "CorrectTermination"
)

// SharedCommands lists the command types every scheme has: the command path
// sends them to the scheme whose stream holds the contract.
func SharedCommands() []string {
	return append([]string{CmdDecideDuePayments, CmdTerminateContract, CmdCorrectTermination}, TreasuryCommands()...)
}

// Stream returns the stream of a contract of a scheme: <scheme>-<id>.
func Stream(scheme string, contract uuid.UUID) string { return scheme + "-" + contract.String() }

// ContractClaim is the key a contract's stream claims in the event store
// when it is created: a contract id belongs to one contract, in one scheme,
// for ever (eventstore.Claim).
func ContractClaim(contract uuid.UUID) string { return "contract/" + contract.String() }

// ContractIDTaken is the rejection of a signature whose id is the id of a
// contract of another scheme.
func ContractIDTaken(contract uuid.UUID, scheme string) error {
	return Reject(CodeContractIDTaken, "contract_id", fmt.Sprintf("%s is the id of a contract of the %s scheme: a contract id belongs to one contract, in one scheme", contract, scheme))
}

// CommandIDReused rejects a command whose id the contract's stream holds
// already for another command (of storedType: the first event it recorded):
// a retry sends the same command again, never another one under its id.
func CommandIDReused(commandID, storedType string) error {
	return Reject(CodeCommandIDReused, "command_id", fmt.Sprintf("%q is the id of another command already recorded on this contract (it recorded %s): a command id names one command; give this one a new id", commandID, storedType))
}

// ParseStream splits a stream name into its scheme and contract id.
func ParseStream(stream string) (scheme string, contract uuid.UUID, ok bool) {
	i := strings.IndexByte(stream, '-')
	if i <= 0 {
		return "", uuid.Nil, false
	}
	id, err := uuid.Parse(stream[i+1:])
	if err != nil {
		return "", uuid.Nil, false
	}
	return stream[:i], id, true
}

// Payment statuses.
const (
	StatusDecided  = "decided"
	StatusWithheld = "withheld"
)

// TypePaymentDecided is the event type of a payment decision, in every
// scheme.
const TypePaymentDecided = "PaymentDecided"

// Line is one line of a payment's breakdown: computed exactly, rounded to
// the cent on its own (domain.md 2.8). Basis shows the computation.
type Line struct {
	Mission   string `json:"mission,omitempty"`
	Component string `json:"component"`
	Amount    Money  `json:"amount"`
	Basis     string `json:"basis,omitempty"`
	// Formula is Basis as a code and its operands (formula.go).
	Formula *Formula `json:"formula,omitempty"`
	// Rulebook names the rulebook version whose amount the line used, when
	// it is not the payment's; Amendment the amendment event that set the
	// amount, when one did (domain.md §2.10).
	Rulebook  string        `json:"rulebook,omitempty"`
	Amendment *AmendmentRef `json:"amendment,omitempty"`
	// Withheld is, on a line decided at 0.00 for want of an amount (not
	// published) or cut by a cap, why.
	Withheld *Withholding `json:"withheld,omitempty"`
}

// AmendmentRef names a rulebook amendment: the id of the event that
// published it and the id the operator gave it.
type AmendmentRef struct {
	EventID uuid.UUID `json:"event_id"`
	ID      string    `json:"id"`
}

// PaymentDecided is the decision of one payment (or its withholding), the
// same shape in every scheme so that the payments read model, the export
// and downstream consumers treat them alike.
type PaymentDecided struct {
	PaymentID    uuid.UUID `json:"payment_id"`
	ContractID   uuid.UUID `json:"contract_id"`
	Kind         string    `json:"kind"`
	ContractYear int       `json:"contract_year"`
	Mission      string    `json:"mission,omitempty"`
	DueOn        Date      `json:"due_on"`
	DecidedOn    Date      `json:"decided_on"`
	Status       string    `json:"status"`
	Amount       Money     `json:"amount"`
	Rulebook     string    `json:"rulebook"`
	// Table names the amount table used, where a rulebook has several
	// (the medical-assistant aid's 2019 and 2024 tables).
	Table  string `json:"table,omitempty"`
	Rule   string `json:"rule"`
	Lines  []Line `json:"lines"`
	Reason string `json:"reason,omitempty"`
	// Withheld is, on a withheld payment, Reason as a code and its facts.
	Withheld *Withholding `json:"withheld,omitempty"`
	// Corrects, on a regularisation, names the payments whose lines the
	// corrected facts changed.
	Corrects []uuid.UUID `json:"corrects,omitempty"`
}

func (PaymentDecided) EventType() string    { return TypePaymentDecided }
func (e PaymentDecided) BusinessDate() Date { return e.DecidedOn }

// TypeContractTerminated is the event type of a termination, in every
// scheme.
const TypeContractTerminated = "ContractTerminated"

// ContractTerminated: a contract ends early.
type ContractTerminated struct {
	ContractID   uuid.UUID `json:"contract_id"`
	TerminatedOn Date      `json:"terminated_on"`
	Reason       string    `json:"reason"`
}

func (ContractTerminated) EventType() string    { return TypeContractTerminated }
func (e ContractTerminated) BusinessDate() Date { return e.TerminatedOn }

// TypeTerminationCorrected is the event type of a termination's date
// corrected, in every scheme.
const TypeTerminationCorrected = "TerminationCorrected"

// TerminationCorrected: the date of a recorded termination was wrong.
type TerminationCorrected struct {
	ContractID      uuid.UUID `json:"contract_id"`
	Corrects        uuid.UUID `json:"corrects"`
	OldTerminatedOn Date      `json:"old_terminated_on"`
	TerminatedOn    Date      `json:"terminated_on"`
	CorrectedOn     Date      `json:"corrected_on"`
	Reason          string    `json:"reason"`
}

func (TerminationCorrected) EventType() string    { return TypeTerminationCorrected }
func (e TerminationCorrected) BusinessDate() Date { return e.CorrectedOn }

// CorrectedEvent implements CorrectionEvent.
func (e TerminationCorrected) CorrectedEvent() uuid.UUID { return e.Corrects }

// CorrectionEvent is an event that corrects another, by its id. A window
// (as of a date, as known at a time) that does not see the corrected event
// does not see its correction either: the one reason a replay in a window
// may leave an event out (OutsideWindow).
type CorrectionEvent interface {
	Event
	CorrectedEvent() uuid.UUID
}

// OutsideWindow tells whether e, in a replay that has applied the events
// seen, corrects an event the replay did not see: it is left out, and any
// other event that the state refuses is an error.
func OutsideWindow(e Event, seen func(uuid.UUID) bool) bool {
	c, ok := e.(CorrectionEvent)
	return ok && !seen(c.CorrectedEvent())
}

// CheckTermination records the violations every scheme applies to a
// termination: the contract is not terminated already, and the date is a
// termination date (CheckTerminationDate). A termination dated before
// payments already decided is accepted: it is a correction of them, and
// the next DecideDuePayments regularises the years it reaches. It reports
// whether the date passed these checks.
func CheckTermination(vs *Violations, on Date, years ContractYears, terminatedOn Date) bool {
	if !terminatedOn.IsZero() {
		vs.Add(CodeAlreadyTerminated, "", "the contract was terminated on "+terminatedOn.String())
		return false
	}
	return CheckTerminationDate(vs, "terminated_on", on, years)
}

// CheckTerminationDate records the violations of a termination date: after
// the signature and before the contract's end.
func CheckTerminationDate(vs *Violations, field string, on Date, years ContractYears) bool {
	end := years.End(years.Count)
	switch {
	case !on.After(years.Signed):
		vs.Add(CodeDateBeforeSignature, field, on.String()+" is not after the signature on "+years.Signed.String())
		return false
	case !on.Before(end):
		vs.Add(CodeDateAfterContract, field, on.String()+" is after the contract's end on "+end.AddDays(-1).String())
		return false
	}
	return true
}

// CorrectTermination corrects the date of a recorded termination: the same
// command in every scheme.
type CorrectTermination struct {
	CommandMeta
	CorrectionMeta
	TerminatedOn Date
}

func (*CorrectTermination) CommandType() string { return CmdCorrectTermination }

// Correction implements Correction.
func (c *CorrectTermination) Correction() *CorrectionMeta { return &c.CorrectionMeta }

// DecideCorrectTermination checks a termination's correction against what
// every scheme knows (the scheme adds its own checks in more) and returns
// its event.
func DecideCorrectTermination(cmd *CorrectTermination, contract uuid.UUID, years ContractYears, terminatedOn Date, more func(*Violations)) ([]Event, error) {
	var vs Violations
	if cmd.CheckTarget(&vs, TypeContractTerminated) {
		if CheckTerminationDate(&vs, "terminated_on", cmd.TerminatedOn, years) {
			if cmd.TerminatedOn.Equal(terminatedOn) {
				vs.Add(CodeNoChange, "terminated_on", "the contract is terminated on "+terminatedOn.String()+" already")
			} else if more != nil {
				more(&vs)
			}
		}
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []Event{TerminationCorrected{ContractID: contract, Corrects: cmd.Corrects, OldTerminatedOn: terminatedOn,
		TerminatedOn: cmd.TerminatedOn, CorrectedOn: cmd.CorrectedOn, Reason: cmd.Reason}}, nil
}

// Follower is an optional capability of a Scheme: a command that creates
// an aggregate following another of the scheme (a CPTS contract following
// its letter of intent). The command path loads the followed aggregate,
// has CheckFollows judge the command against it (its empty state when its
// stream has no event), and claims the key with the new stream, so that
// an aggregate is followed once (eventstore.Claim).
type Follower interface {
	Follows(cmd Command) (followed uuid.UUID, claim string, ok bool)
	CheckFollows(cmd Command, followed State) error
	// Followed is the rejection when the stream owner claimed the key
	// first (another aggregate follows it).
	Followed(followed uuid.UUID, owner string) error
}
