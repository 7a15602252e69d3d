package eventstore

import "fmt"

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectExact
)

// ExpectedRevision is the state a stream must be in for an append to go
// ahead. The zero value is Any().
type ExpectedRevision struct {
	kind expectKind
	rev  uint64
}

// Any accepts the stream in any state.
func Any() ExpectedRevision { return ExpectedRevision{kind: expectAny} }

// NoStream requires that the stream has no event yet.
func NoStream() ExpectedRevision { return ExpectedRevision{kind: expectNoStream} }

// StreamExists requires that the stream has at least one event.
func StreamExists() ExpectedRevision { return ExpectedRevision{kind: expectStreamExists} }

// Exact requires that the stream's last event has revision n.
func Exact(n uint64) ExpectedRevision { return ExpectedRevision{kind: expectExact, rev: n} }

// IsAny, IsNoStream, IsStreamExists and Revision let backends map the value
// onto their own representation.
func (e ExpectedRevision) IsAny() bool          { return e.kind == expectAny }
func (e ExpectedRevision) IsNoStream() bool     { return e.kind == expectNoStream }
func (e ExpectedRevision) IsStreamExists() bool { return e.kind == expectStreamExists }

// Revision returns n and true for Exact(n).
func (e ExpectedRevision) Revision() (uint64, bool) { return e.rev, e.kind == expectExact }

// Matches tells whether a stream whose last revision is actual (NoRevision
// when it does not exist) satisfies e.
func (e ExpectedRevision) Matches(actual int64) bool {
	switch e.kind {
	case expectNoStream:
		return actual == NoRevision
	case expectStreamExists:
		return actual != NoRevision
	case expectExact:
		return actual >= 0 && uint64(actual) == e.rev
	default:
		return true
	}
}

func (e ExpectedRevision) String() string {
	switch e.kind {
	case expectNoStream:
		return "no stream"
	case expectStreamExists:
		return "stream exists"
	case expectExact:
		return fmt.Sprintf("revision %d", e.rev)
	default:
		return "any"
	}
}
