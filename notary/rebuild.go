package notary

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/dirlock"
)

// RebuildReport says what a rebuild of the tree found.
type RebuildReport struct {
	Leaves int64
	// Compared is how many leaves the tree held before: the rebuilt tree's
	// stored hashes for them are compared with the ones it had.
	Compared int64
	// FirstDifferent is the first leaf whose hashes differ (-1: none). A
	// difference means the log, or the tree files, changed since the leaf
	// was added: the old files are kept aside (Aside) as evidence.
	FirstDifferent int64
	Aside          string
	// Refused says why a different tree was not put in place (""
	// when it was, or when nothing differed).
	Refused string
	Elapsed time.Duration
}

// Rebuild computes the tree again from the whole log and compares every
// stored hash with the tree's. The same hashes: the tree is kept (and
// brought up to date). Different ones: either the tree's files were
// damaged, or the log was rewritten; the checkpoints signed tell which.
// When the rebuilt tree has the root of every signed checkpoint it covers
// (and there is at least one), the log is what was signed: the old files
// are moved aside and the rebuilt tree takes their place. Otherwise the
// kept tree stays exactly as it was (Refused says why) — a rebuild never
// replaces the tree with one of a rewritten log, which a signer would
// then be asked to sign. Signed checkpoints are kept either way.
func (t *Tree) Rebuild(ctx context.Context, store eventstore.Store) (RebuildReport, error) {
	start := time.Now()
	lock, err := dirlock.Wait(filepath.Join(t.dir, LockFile))
	if err != nil {
		return RebuildReport{}, err
	}
	defer lock.Release()
	if err := t.refresh(ctx); err != nil {
		return RebuildReport{}, err
	}
	rep := RebuildReport{Compared: t.size, FirstDifferent: -1}
	fresh, err := os.MkdirTemp(t.dir, "notary-rebuild-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(fresh)
	nt := &Tree{dir: fresh, db: t.db}
	for _, f := range []struct {
		dst  **os.File
		name string
	}{{&nt.leaves, LeavesFile}, {&nt.hashes, HashesFile}} {
		if *f.dst, err = os.OpenFile(filepath.Join(fresh, f.name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return rep, err
		}
		defer (*f.dst).Close()
	}
	// Build the new tree in its own files, batch by batch; the commit is
	// the swap below.
	var after eventstore.Position
	for {
		leaves, err := eventstore.ReadLeaves(ctx, store, after, Batch)
		if err != nil {
			return rep, err
		}
		if len(leaves) == 0 {
			break
		}
		if err := nt.appendLeaves(leaves); err != nil {
			return rep, err
		}
		after = leaves[len(leaves)-1].Position
	}
	rep.Leaves = nt.size
	if rep.FirstDifferent, err = t.firstDifferentLeaf(nt); err != nil {
		return rep, err
	}
	if rep.FirstDifferent < 0 && nt.size < t.size {
		rep.FirstDifferent = nt.size // the log is shorter than the tree
	}
	if rep.FirstDifferent >= 0 {
		if rep.Refused, err = t.disagreesWithSigned(ctx, nt); err != nil || rep.Refused != "" {
			rep.Elapsed = time.Since(start)
			return rep, err
		}
		rep.Aside = filepath.Join(t.dir, fmt.Sprintf("notary-before-rebuild-%s", time.Now().UTC().Format("20060102T150405Z")))
	}
	if err := t.swap(ctx, nt, rep.Aside); err != nil {
		return rep, err
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// disagreesWithSigned says why the rebuilt tree nt may not replace the
// kept one: no signed checkpoint to tell damaged tree files from a
// rewritten log, or a signed checkpoint whose root nt does not have.
func (t *Tree) disagreesWithSigned(ctx context.Context, nt *Tree) (string, error) {
	cps, err := t.Checkpoints(ctx)
	if err != nil {
		return "", err
	}
	checked := 0
	for _, st := range cps {
		c, err := ReadNote([]byte(st.Note))
		if err != nil {
			return fmt.Sprintf("checkpoint %d kept is unreadable (%v)", st.ID, err), nil
		}
		if c.Size > nt.size {
			return fmt.Sprintf("the log holds %d events, fewer than the %d of checkpoint %d signed on %s", nt.size, c.Size, st.ID, st.SignedAt.Format(time.RFC3339)), nil
		}
		root, err := nt.Root(c.Size)
		if err != nil {
			return "", err
		}
		if root != c.Root {
			return fmt.Sprintf("the log's first %d events no longer have the root of checkpoint %d signed on %s", c.Size, st.ID, st.SignedAt.Format(time.RFC3339)), nil
		}
		checked++
	}
	if checked == 0 {
		return "no checkpoint was signed to tell damaged tree files from a rewritten log", nil
	}
	return "", nil
}

// appendLeaves adds leaves to a tree's files without committing them.
func (t *Tree) appendLeaves(leaves []eventstore.Leaf) error {
	recs, hashes, err := t.compute(leaves)
	if err != nil {
		return err
	}
	if _, err := t.leaves.WriteAt(recs, t.size*leafRecordSize); err != nil {
		return err
	}
	if _, err := t.hashes.WriteAt(hashes, tlog.StoredHashCount(t.size)*tlog.HashSize); err != nil {
		return err
	}
	t.size += int64(len(leaves))
	t.last = leaves[len(leaves)-1].Position
	return nil
}

// firstDifferentLeaf compares the committed tree of t with nt, stored hash
// by stored hash, and returns the first leaf whose hashes (its record hash
// or a node it completes) differ, or -1.
func (t *Tree) firstDifferentLeaf(nt *Tree) (int64, error) {
	n := min(t.size, nt.size)
	total := tlog.StoredHashCount(n) * tlog.HashSize
	a, b := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := int64(0); off < total; off += int64(len(a)) {
		m := int(min(int64(len(a)), total-off))
		if _, err := t.hashes.ReadAt(a[:m], off); err != nil {
			return 0, err
		}
		if _, err := nt.hashes.ReadAt(b[:m], off); err != nil {
			return 0, err
		}
		for i := 0; i < m; i += tlog.HashSize {
			if [tlog.HashSize]byte(a[i:i+tlog.HashSize]) != [tlog.HashSize]byte(b[i:i+tlog.HashSize]) {
				x := (off + int64(i)) / tlog.HashSize
				// The leaf that added stored hash x: the last with fewer
				// stored hashes before it than x+1.
				return int64(sort.Search(int(n), func(k int) bool { return tlog.StoredHashCount(int64(k)+1) > x })), nil
			}
		}
	}
	return -1, nil
}

// swap puts nt's files in place of the tree's (moved to aside first, when
// given), then commits nt's size.
func (t *Tree) swap(ctx context.Context, nt *Tree, aside string) error {
	if aside != "" {
		if err := os.MkdirAll(aside, 0o700); err != nil {
			return err
		}
		for _, name := range []string{LeavesFile, HashesFile} {
			if err := os.Rename(filepath.Join(t.dir, name), filepath.Join(aside, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	for _, f := range []*os.File{nt.leaves, nt.hashes} {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	for _, name := range []string{LeavesFile, HashesFile} {
		if err := os.Rename(filepath.Join(nt.dir, name), filepath.Join(t.dir, name)); err != nil {
			return err
		}
	}
	t.leaves.Close()
	t.hashes.Close()
	var err error
	if t.leaves, err = os.OpenFile(filepath.Join(t.dir, LeavesFile), os.O_RDWR, 0o600); err != nil {
		return err
	}
	if t.hashes, err = os.OpenFile(filepath.Join(t.dir, HashesFile), os.O_RDWR, 0o600); err != nil {
		return err
	}
	return t.commit(ctx, nt.size, nt.last)
}
