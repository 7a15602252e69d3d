package eventstore

import (
	"errors"
	"fmt"
)

// Sentinel errors, matchable with errors.Is.
var (
	ErrWrongRevision   = errors.New("eventstore: wrong expected revision")
	ErrInvalidEvent    = errors.New("eventstore: invalid event")
	ErrEventIDConflict = errors.New("eventstore: event id already stored with other content")
	ErrClosed          = errors.New("eventstore: store closed")
	ErrCorrupt         = errors.New("eventstore: hash chain broken")
	ErrClaimed         = errors.New("eventstore: key claimed by another stream")
	// ErrUnclaimedStreams refuses an append made with
	// OnlyIfEveryStreamClaimed when the store holds a stream created
	// without a claim, or cannot tell that it holds none. Nothing was
	// written.
	ErrUnclaimedStreams = errors.New("eventstore: the store holds streams created without a claim, or cannot tell")
)

// ClaimedError reports an append that claims a key another stream owns
// (see Claim). Nothing was written.
type ClaimedError struct {
	Key    string
	Stream string // the stream the append was for
	Owner  string // the stream that owns the key
}

func (e *ClaimedError) Error() string {
	return fmt.Sprintf("eventstore: %q is claimed by stream %q, not %q", e.Key, e.Owner, e.Stream)
}

func (e *ClaimedError) Unwrap() error { return ErrClaimed }

// WrongRevisionError reports an append whose expected revision did not match
// the stream. Actual is the stream's last revision, or NoRevision (-1) when
// the stream does not exist.
type WrongRevisionError struct {
	Stream   string
	Expected ExpectedRevision
	Actual   int64
}

func (e *WrongRevisionError) Error() string {
	actual := "no stream"
	if e.Actual != NoRevision {
		actual = fmt.Sprintf("revision %d", e.Actual)
	}
	return fmt.Sprintf("eventstore: wrong expected revision on stream %q: expected %s, actual %s", e.Stream, e.Expected, actual)
}

func (e *WrongRevisionError) Unwrap() error { return ErrWrongRevision }

// InvalidEventError reports bad input to Append. Index is the event's place
// in the batch (-1 when the error concerns the call, such as the stream name).
type InvalidEventError struct {
	Index int
	Field string
	Rule  string
}

func (e *InvalidEventError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("eventstore: invalid event: %s: %s", e.Field, e.Rule)
	}
	return fmt.Sprintf("eventstore: invalid event: events[%d].%s: %s", e.Index, e.Field, e.Rule)
}

func (e *InvalidEventError) Unwrap() error { return ErrInvalidEvent }

// CorruptionError names the first event whose hash chain does not verify.
type CorruptionError struct {
	Stream   string
	Revision uint64
	Position Position
	EventID  string
	Reason   string
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("eventstore: hash chain broken at stream %q revision %d (position %d, event %s): %s",
		e.Stream, e.Revision, e.Position, e.EventID, e.Reason)
}

func (e *CorruptionError) Unwrap() error { return ErrCorrupt }
