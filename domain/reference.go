package domain

import "github.com/google/uuid"

// Reference is the fold of a scheme's reference streams (ReferenceFacts):
// what the decisions of every contract may depend on.
type Reference interface {
	// Apply folds one event of the reference streams, in their order.
	Apply(eventID uuid.UUID, e Event) error
	// Clone copies the fold (a decision is handed a snapshot).
	Clone() Reference
}

// ReferenceFacts is the capability of a scheme whose decisions depend on
// facts kept in streams of their own, which no contract's stream holds
// first (cpts: the rulebook amendments an operator publishes and the
// crises an ARS recognises). The command path, the schedule and the
// queries reach those facts only through it — a scheme without reference
// facts does not implement it — and a scheme that does says so at compile
// time (var _ domain.ReferenceFacts = …), so that a signature that drifts
// is a build error, never a schedule that silently loses the facts.
type ReferenceFacts interface {
	Scheme
	// ReferenceStreams are the streams of the facts, in the order they
	// are folded.
	ReferenceStreams() []string
	// ReferenceCommands are the command types that write them, and
	// ReferenceStream the stream each writes.
	ReferenceCommands() []string
	ReferenceStream(commandType string) string
	// NewReference is the fold of no fact.
	NewReference() Reference
	// DecodeReferenceCommand decodes a reference command line.
	DecodeReferenceCommand(raw []byte) (Command, error)
	// DecideReference decides a reference command on the facts as they
	// stand: its events, or every rule it breaks.
	DecideReference(ref Reference, cmd Command) ([]Event, error)
	// ContractNamed is the contract a reference command is about, when it
	// is about one (a crisis recognised for one contract); CheckNamed
	// refuses that contract when the command cannot concern it, given its
	// state.
	ContractNamed(cmd Command) (uuid.UUID, bool)
	CheckNamed(cmd Command, st State) error
	// Reaches says, for a reference event that may take money back (a
	// retroactive amendment, a recognition corrected), which contracts it
	// may concern, by their signature event; nil when it takes nothing
	// back. CheckReference then judges one such contract: the
	// prescription of what the fact, on its date, would take back.
	Reaches(ref Reference, e Event) func(signature Event) bool
	CheckReference(st State, ref Reference, on Date) error
	// WithReference hands a command the facts its decision depends on (a
	// DecideDuePayments), or returns it as it is.
	WithReference(cmd Command, ref Reference) Command
	// ForecastWith is Forecast with the facts as they stand, as the
	// decisions would note them first.
	ForecastWith(st State, until Date, ref Reference) ([]Due, error)
}

// RuleCorrections is an optional capability of ReferenceFacts: the
// corrections of the scheme's own rule data (a figure the embedded
// rulebooks held and that proved wrong) which a ledger records once, as a
// reference command of its own, when one of its contracts was decided
// with the figure corrected. Why a recorded command and not only new
// data: a ledger that paid under the old figure must show, in its log,
// the fact that changed the rule, and each regularisation cite it.
type RuleCorrections interface {
	RuleCorrections(on Date) []RuleCorrection
}

// RuleCorrection is one correction of rule data.
type RuleCorrection struct {
	// CommandID is fixed: recording it twice is a duplicate.
	CommandID string
	// Line is the reference command, published on the day given.
	Line []byte
	// Reaches selects, by their signature, the contracts that may have
	// been decided with the old figure; Needed says whether one was.
	Reaches func(signature Event) bool
	Needed  func(st State) bool
}

// ReferenceTaker marks a command, other than DecideDuePayments, whose
// decision depends on the reference facts (a letter of intent's aid, which
// an amendment may set): the command path hands it them (WithReference).
type ReferenceTaker interface {
	Command
	TakesReference()
}
