package notary

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/dirlock"
)

// rangeFactory builds compact ranges with RFC 9162 node hashing, the same
// as tlog.NodeHash.
var rangeFactory = compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// Batch is how many leaves the follower commits at a time.
const Batch = 65536

// Progress tells how far an update went.
type Progress struct {
	Added   int64
	Size    int64
	Elapsed time.Duration
}

// Rate returns leaves added per second.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Added) / p.Elapsed.Seconds()
}

// Hooks let tests stop the follower at chosen points.
type Hooks struct {
	// Batch, when > 0, is how many leaves CatchUp commits at a time
	// (default Batch).
	Batch int
	// AfterWrite, if set, runs once a batch is written to the tree files
	// and before it is committed; an error abandons the batch.
	AfterWrite func(size int64) error
}

// CatchUp brings the tree up to the store's head at the time of the call.
// The next batch of leaves is read while the current one is hashed and
// written, so that reading the log and hashing use both cores.
func (t *Tree) CatchUp(ctx context.Context, store eventstore.Store, hooks Hooks) (Progress, error) {
	start := time.Now()
	head, err := store.Head(ctx)
	if err != nil {
		return Progress{}, err
	}
	if err := t.refresh(ctx); err != nil {
		return Progress{}, err
	}
	batch := Batch
	if hooks.Batch > 0 {
		batch = hooks.Batch
	}
	type page struct {
		leaves []eventstore.Leaf
		err    error
	}
	pages := make(chan page, 1)
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(pages)
		after := t.last
		for after < head {
			leaves, err := eventstore.ReadLeaves(readCtx, store, after, batch)
			if err == nil && len(leaves) == 0 {
				err = fmt.Errorf("notary: the log ends at position %d, before its head %d", after, head)
			}
			select {
			case pages <- page{leaves, err}:
			case <-readCtx.Done():
				return
			}
			if err != nil {
				return
			}
			after = leaves[len(leaves)-1].Position
		}
	}()
	prog := Progress{Size: t.size}
	for p := range pages {
		if p.err != nil {
			return prog, p.err
		}
		// Add skips what another process added meanwhile.
		added, err := t.Add(ctx, p.leaves, hooks)
		prog.Added += added
		prog.Size = t.size
		if err != nil {
			return prog, err
		}
	}
	prog.Elapsed = time.Since(start)
	return prog, nil
}

// Follow keeps the tree up to date until ctx ends: it catches up, then adds
// each batch of events as the store commits them. Each batch is committed
// under the follower's lock, so a `ledger checkpoint` in another process
// waits for one batch at most.
func (t *Tree) Follow(ctx context.Context, store eventstore.Store) error {
	if _, err := t.CatchUp(ctx, store, Hooks{}); err != nil {
		return err
	}
	return store.Subscribe(ctx, t.last, func(envs []eventstore.Envelope) error {
		leaves := make([]eventstore.Leaf, len(envs))
		for i := range envs {
			leaves[i] = eventstore.Leaf{Position: envs[i].Position, EventID: envs[i].EventID, Hash: envs[i].Hash}
		}
		_, err := t.Add(ctx, leaves, Hooks{})
		return err
	})
}

// Add appends leaves, in log order, to the tree and commits them; leaves
// at or before the tree's last position (added meanwhile by another
// process) are skipped. It returns how many it added.
func (t *Tree) Add(ctx context.Context, leaves []eventstore.Leaf, hooks Hooks) (int64, error) {
	lock, err := dirlock.Wait(filepath.Join(t.dir, LockFile))
	if err != nil {
		return 0, err
	}
	defer lock.Release()
	if err := t.refresh(ctx); err != nil {
		return 0, err
	}
	for len(leaves) > 0 && leaves[0].Position <= t.last {
		leaves = leaves[1:]
	}
	if len(leaves) == 0 {
		return 0, nil
	}
	recs, hashes, err := t.compute(leaves)
	if err != nil {
		return 0, err
	}
	// Cut what a batch cut by a crash left past the committed size, write,
	// sync, then commit: the row of notary.db is the commit point.
	if err := t.truncate(t.size); err != nil {
		return 0, err
	}
	if _, err := t.leaves.WriteAt(recs, t.size*leafRecordSize); err != nil {
		return 0, fmt.Errorf("notary: write the tree: %w", err)
	}
	if _, err := t.hashes.WriteAt(hashes, tlog.StoredHashCount(t.size)*tlog.HashSize); err != nil {
		return 0, fmt.Errorf("notary: write the tree: %w", err)
	}
	if err := t.leaves.Sync(); err != nil {
		return 0, fmt.Errorf("notary: sync the tree: %w", err)
	}
	if err := t.hashes.Sync(); err != nil {
		return 0, fmt.Errorf("notary: sync the tree: %w", err)
	}
	newSize := t.size + int64(len(leaves))
	if hooks.AfterWrite != nil {
		if err := hooks.AfterWrite(newSize); err != nil {
			return 0, err
		}
	}
	if err := t.commit(ctx, newSize, leaves[len(leaves)-1].Position); err != nil {
		return 0, err
	}
	return int64(len(leaves)), nil
}

// compute returns the leaf records and the stored hashes that appending
// leaves to the tree adds, in the files' order.
func (t *Tree) compute(leaves []eventstore.Leaf) (recs, hashes []byte, err error) {
	rng, err := t.frontier()
	if err != nil {
		return nil, nil, err
	}
	base := tlog.StoredHashCount(t.size)
	recs = make([]byte, 0, len(leaves)*leafRecordSize)
	hashes = make([]byte, 0, 2*len(leaves)*tlog.HashSize)
	var visitErr error
	visit := func(id compact.NodeID, h []byte) {
		// compact visits the leaf and the nodes it completes in the order
		// tlog stores them; check it rather than trust it.
		if want := base + int64(len(hashes)/tlog.HashSize); tlog.StoredHashIndex(int(id.Level), int64(id.Index)) != want && visitErr == nil {
			visitErr = fmt.Errorf("notary: node %v computed out of the stored order (index %d)", id, want)
		}
		hashes = append(hashes, h...)
	}
	for _, l := range leaves {
		recs = binary.BigEndian.AppendUint64(recs, uint64(l.Position))
		recs = append(recs, l.EventID[:]...)
		leaf := tlog.RecordHash(l.Hash[:])
		if err := rng.Append(leaf[:], visit); err != nil {
			return nil, nil, err
		}
	}
	return recs, hashes, visitErr
}

// commit records that the tree's files hold size leaves, the last at
// position last.
func (t *Tree) commit(ctx context.Context, size int64, last eventstore.Position) error {
	if _, err := t.db.ExecContext(ctx, `INSERT INTO follower (id, leaves, position) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET leaves = excluded.leaves, position = excluded.position`, size, int64(last)); err != nil {
		return fmt.Errorf("notary: commit %d leaves: %w", size, err)
	}
	t.size, t.last = size, last
	return nil
}

// truncate cuts the files to the lengths of n leaves: what a batch cut by
// a crash wrote past them goes.
func (t *Tree) truncate(n int64) error {
	if err := t.leaves.Truncate(n * leafRecordSize); err != nil {
		return fmt.Errorf("notary: %w", err)
	}
	if err := t.hashes.Truncate(tlog.StoredHashCount(n) * tlog.HashSize); err != nil {
		return fmt.Errorf("notary: %w", err)
	}
	return nil
}

// frontier returns the compact range of the committed tree, from the
// stored hashes of its perfect subtrees.
func (t *Tree) frontier() (*compact.Range, error) {
	ids := compact.RangeNodes(0, uint64(t.size), nil)
	idx := make([]int64, len(ids))
	for i, id := range ids {
		idx[i] = tlog.StoredHashIndex(int(id.Level), int64(id.Index))
	}
	hs, err := t.ReadHashes(idx)
	if err != nil {
		return nil, err
	}
	raw := make([][]byte, len(hs))
	for i := range hs {
		raw[i] = hs[i][:]
	}
	return rangeFactory.NewRange(0, uint64(t.size), raw)
}
