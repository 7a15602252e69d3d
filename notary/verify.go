package notary

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/eventstore"
)

// Named is a checkpoint with the name an auditor knows it by (its file).
type Named struct {
	Name string
	Checkpoint
}

// CheckpointError is a checkpoint the log as stored now does not match.
type CheckpointError struct {
	Name   string
	Size   int64
	Reason string
	// First is the first event of the log that differs from what the
	// checkpoint covered, when it can be told (the follower's tree still
	// holds the leaf as it was): its leaf index, the event the log holds
	// there now (nil when the log is shorter) and the event the tree had.
	First *Difference
}

// Difference is the first leaf where the log and the tree part.
type Difference struct {
	Leaf      int64
	Now       *eventstore.Envelope
	WasID     string
	WasPos    eventstore.Position
	WasStored bool // the tree held the leaf
}

func (e *CheckpointError) Error() string {
	msg := fmt.Sprintf("checkpoint %s (%d events): %s", e.Name, e.Size, e.Reason)
	if d := e.First; d != nil {
		msg += fmt.Sprintf("; first event that differs: leaf %d", d.Leaf)
		if d.Now != nil {
			msg += fmt.Sprintf(", now event %s (stream %s revision %d, position %d)", d.Now.EventID, d.Now.Stream, d.Now.Revision, d.Now.Position)
		} else {
			msg += ", now missing from the log"
		}
		if d.WasStored {
			msg += fmt.Sprintf(", was event %s at position %d", d.WasID, d.WasPos)
		}
	}
	return msg
}

// ErrCheckpoint is matched by every *CheckpointError.
var ErrCheckpoint = errors.New("notary: the log does not match a signed checkpoint")

func (e *CheckpointError) Unwrap() error { return ErrCheckpoint }

// LogReport says what VerifyLog checked.
type LogReport struct {
	eventstore.VerifyReport
	Checkpoints int
	// Roots are the roots of the log's first n events, recomputed from them
	// as stored now, for each n VerifyLogRoots was asked for that the log
	// reaches.
	Roots map[int64]tlog.Hash
}

// VerifyLog walks the whole log once, checks every stream's hash chain
// (eventstore.Chains), and checks each checkpoint: the log holds at least
// its size, and the root of its first leaves, recomputed from the events as
// stored now, is its root. The follower's stored hashes are not trusted for
// this: an insider can rewrite them too; when tree is given, it is read
// only to name the first event that differs. It returns the first failure:
// a *eventstore.CorruptionError or a *CheckpointError.
func VerifyLog(ctx context.Context, store eventstore.Store, cps []Named, tree *Tree) (LogReport, error) {
	return VerifyLogRoots(ctx, store, cps, tree, nil)
}

// VerifyLogRoots is VerifyLog that also gives the roots of the log's first
// n events for each n of sizes (the read-model check's memory holds the
// log it folded that way: projections.CheckOptions.LogRoot).
func VerifyLogRoots(ctx context.Context, store eventstore.Store, cps []Named, tree *Tree, sizes []int64) (LogReport, error) {
	cps = slices.Clone(cps)
	slices.SortStableFunc(cps, func(a, b Named) int { return cmp.Compare(a.Size, b.Size) })
	chains := eventstore.NewChains()
	var rng Frontier
	at := &rootsAt{cps: cps, sizes: sizes, roots: map[int64]tlog.Hash{}}
	compare := func() error { return at.check(&rng) }
	if err := compare(); err != nil && !errors.Is(err, errStop) {
		return LogReport{}, err
	}
	err := eventstore.EachLinkAhead(ctx, store, func(batch []eventstore.Link) error {
		if at.failed != nil {
			return errStop
		}
		for i := range batch {
			if err := chains.CheckLink(&batch[i]); err != nil {
				return err
			}
			h := batch[i].Computed
			if len(cps) == 0 && len(sizes) == 0 {
				continue // no root to compare: the chains alone (a third less work an event)
			}
			rng.Append(tlog.RecordHash(h[:]))
			if err := compare(); err != nil {
				return err
			}
		}
		return nil
	})
	rep := LogReport{VerifyReport: chains.Report(), Checkpoints: at.next, Roots: at.roots}
	failed, next := at.failed, at.next
	if err != nil && !errors.Is(err, errStop) {
		return rep, err
	}
	if failed == nil && next < len(cps) {
		c := cps[next]
		failed = &CheckpointError{Name: c.Name, Size: c.Size,
			Reason: fmt.Sprintf("the log holds %d events, fewer than the %d the checkpoint covers: events were removed after it was signed", rng.Size(), c.Size)}
	}
	if failed == nil {
		return rep, nil
	}
	if tree != nil {
		d, err := firstDifference(ctx, store, tree, failed.Size)
		if err != nil {
			return rep, errors.Join(failed, err)
		}
		failed.First = d
	}
	return rep, failed
}

var errStop = errors.New("stop")

// rootsAt compares the roots of the log's first events with the
// checkpoints (sorted by size) as the walk reaches their sizes, and keeps
// the roots at sizes.
type rootsAt struct {
	cps    []Named
	sizes  []int64
	next   int // the next checkpoint to compare
	failed *CheckpointError
	roots  map[int64]tlog.Hash
}

// check compares or keeps the root of rng at its size; errStop once a
// checkpoint failed.
func (a *rootsAt) check(rng *Frontier) error {
	if n := rng.Size(); slices.Contains(a.sizes, n) {
		root, err := rng.Root()
		if err != nil {
			return err
		}
		a.roots[n] = root
	}
	for a.next < len(a.cps) && a.cps[a.next].Size == rng.Size() {
		root, err := rng.Root()
		if err != nil {
			return err
		}
		if c := a.cps[a.next]; root != c.Root {
			a.failed = &CheckpointError{Name: c.Name, Size: c.Size,
				Reason: "the root of the log's first events, recomputed from them as stored now, is not the checkpoint's: the log was changed after it was signed"}
			return errStop
		}
		a.next++
	}
	return nil
}

// firstDifference compares the log's first n events, as stored now, with
// the leaves the follower's tree holds, and returns the first that differs
// (nil when the tree agrees with the log as it is now: it was rewritten
// too, or never held those leaves).
func firstDifference(ctx context.Context, store eventstore.Store, tree *Tree, n int64) (*Difference, error) {
	if err := tree.refresh(ctx); err != nil {
		return nil, err
	}
	chains := eventstore.NewChains()
	var i int64
	var found *Difference
	err := eventstore.EachPage(ctx, store, func(batch []eventstore.Envelope) error {
		for j := range batch {
			if i >= n || i >= tree.Size() {
				return errStop
			}
			h, _ := chains.Check(&batch[j])
			was, err := tree.LeafHash(i)
			if err != nil {
				return err
			}
			if tlog.RecordHash(h[:]) != was {
				now := batch[j]
				found = &Difference{Leaf: i, Now: &now}
				return errStop
			}
			i++
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if found == nil && i < n && i < tree.Size() {
		found = &Difference{Leaf: i} // the log ends before the checkpoint
	}
	if found != nil && found.Leaf < tree.Size() {
		ref, err := tree.Leaf(found.Leaf)
		if err != nil {
			return nil, err
		}
		found.WasStored, found.WasID, found.WasPos = true, ref.EventID.String(), ref.Position
	}
	return found, nil
}
