// Package domain holds what every payment scheme of the ledger shares: civil
// dates and contract-year arithmetic, money and its rounding, rule-violation
// errors with stable codes, rulebook metadata and selection by date, the
// command and event vocabulary, the one decoder of commands (strict) and of
// events (schema version checked, upcasters in EventDecoders), corrections
// and their prescription, and a command's digest. It is pure Go (standard
// library, decimal, uuid, encoding/json/v2) and knows nothing of storage,
// NATS or HTTP.
//
// Each scheme lives in a subpackage (cpts, assistant) and follows one
// shape: a command is decided against the state folded from the contract's
// events, giving new events or a *RejectedError; the state changes only by
// applying events (Scheme). A scheme whose decisions depend on facts of
// streams of their own declares it (ReferenceFacts). domain/schemetest is
// what every scheme must pass.
package domain
