// Package eventstore defines the contract every event store backend of the
// ledger fulfils, the event envelope, the per-stream hash chain and the
// offline integrity check.
//
// # Guarantees a backend gives
//
//   - Append is atomic: all the events of one call are stored, or none.
//   - Append checks the expected revision of the stream before writing; a
//     mismatch returns a *WrongRevisionError (matchable with errors.As, and
//     with errors.Is against ErrWrongRevision) carrying the stream, the
//     expected and the actual revision.
//   - Append is idempotent by event id within the stream: appending events
//     whose ids are all stored already in that stream, with the same types
//     and data, writes nothing and returns the result of the original append
//     (AppendResult.Duplicate is true). The same ids with other content, or a
//     batch only partly stored, return ErrEventIDConflict. The idempotency
//     check comes before the revision check, so a retried append succeeds
//     even though its expected revision is now stale.
//   - Event ids must be unique across streams too, but backends are not
//     required to detect the same id in two streams (EventStoreDB does not,
//     and a global index on random ids costs one random page write per event
//     in the embedded backend). The ledger guarantees it by construction: it
//     derives event ids from the stream and the command id (see package app).
//   - An acknowledged append is durable: once Append returns without error the
//     events survive a process kill and a power loss.
//   - Every event gets a stream revision (0, 1, 2, … within its stream) and a
//     global position. Positions are strictly increasing in commit order, so a
//     reader that has seen position p never later discovers an event below p.
//     The embedded backend makes them contiguous (1, 2, 3, …); other backends
//     may leave gaps, so consumers must compare, never count.
//   - Each stream is a hash chain: Hash = SHA-256(PrevHash ‖ canonical
//     encoding of the event), computed by the store at append time. Verify
//     walks the global log and names the first event whose chain breaks.
//
// Bad input (empty stream or type, a zero event id, data that is not a JSON
// document, a malformed business date) returns an *InvalidEventError wrapping
// ErrInvalidEvent and writes nothing.
package eventstore
