// Package domain holds what every payment scheme of the ledger shares: civil
// dates and contract-year arithmetic, money and its rounding, rule-violation
// errors with stable codes, rulebook metadata and selection by date, and the
// command and event vocabulary. It is pure Go (standard library, decimal,
// uuid) and knows nothing of storage, NATS or HTTP.
//
// Each scheme lives in a subpackage (cpts, and next assistant) and follows
// one shape: a command is decided against the state folded from the
// contract's events, giving new events or a *RejectedError; the state changes
// only by applying events.
package domain
