// Package notary makes the ledger's history checkable by an auditor who does
// not trust its operator, on the model of Certificate Transparency (RFC
// 9162) and Go's checksum database:
//
//   - a Merkle tree over the whole global log, leaf i being the hash of the
//     i-th event (RFC 9162 §2.1 hashing: SHA-256, leaf prefix 0x00, node
//     prefix 0x01), kept by a follower in the stored-hash layout of
//     golang.org/x/mod/sumdb/tlog, so that a checkpoint or a proof never
//     hashes the log again;
//   - checkpoints of the tree signed with Ed25519 as signed notes
//     (golang.org/x/mod/sumdb/note) whose text is a C2SP tlog-checkpoint;
//   - inclusion and consistency proofs (tlog.ProveRecord, tlog.ProveTree),
//     checked offline by VerifyProof;
//   - the verification of the log against signed checkpoints, recomputed
//     from the events as stored now (VerifyLog), never from the follower's
//     hashes, which an insider could rewrite too.
//
// Merkle arithmetic is the libraries' (tlog for the layout and the proofs,
// transparency-dev/merkle's compact ranges to append and to recompute roots
// in one pass); this package only stores and moves hashes.
//
// # Files
//
// In the data directory: notary.db (SQLite: the follower's committed size
// and position, the ledger's origin, every checkpoint signed), and two
// append-only files, notary.leaves (per leaf: the event's position and id)
// and notary.hashes (the tree's stored hashes, 32 bytes each, in
// tlog.StoredHashIndex order). A batch of leaves is written to both files,
// fsynced, then committed by one row of notary.db; what lies past the
// committed size (a batch cut by a crash) is cut off at the next update.
package notary

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/cptsledger/ledger/eventstore"
)

// File names in the data directory.
const (
	DBFile     = "notary.db"
	LeavesFile = "notary.leaves"
	HashesFile = "notary.hashes"
	LockFile   = "notary.lock"
)

// The notary.db format.
const (
	ApplicationID = 0x4C4E5452 // "LNTR"
	FormatVersion = 1
)

// leafRecordSize is one record of notary.leaves: the position (8 bytes,
// big-endian) and the event id (16 bytes).
const leafRecordSize = 24

const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS follower (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	leaves   INTEGER NOT NULL, -- committed leaves: the tree's size
	position INTEGER NOT NULL  -- the global position of the last one
);
CREATE TABLE IF NOT EXISTS checkpoints (
	id        INTEGER PRIMARY KEY,
	origin    TEXT NOT NULL,
	tree_size INTEGER NOT NULL,
	root_hash TEXT NOT NULL,    -- standard base64, as in the note
	key_name  TEXT NOT NULL,
	signed_at TEXT NOT NULL,    -- RFC 3339, UTC
	note      TEXT NOT NULL     -- the signed note, as published
);`

// Tree is the Merkle tree of a ledger's log as the follower keeps it.
type Tree struct {
	dir            string
	db             *sql.DB
	leaves, hashes *os.File
	size           int64               // committed leaves
	last           eventstore.Position // the position of the last committed leaf
}

// Open opens (creating if needed) the tree kept in the data directory dir.
func Open(ctx context.Context, dir string) (*Tree, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("notary: %w", err)
	}
	path := filepath.Join(dir, DBFile)
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("notary: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	t := &Tree{dir: dir, db: db}
	if err := t.prepare(ctx, path); err != nil {
		db.Close()
		return nil, err
	}
	for _, f := range []struct {
		dst  **os.File
		name string
	}{{&t.leaves, LeavesFile}, {&t.hashes, HashesFile}} {
		if *f.dst, err = os.OpenFile(filepath.Join(dir, f.name), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
			t.Close()
			return nil, fmt.Errorf("notary: %w", err)
		}
	}
	if err := t.refresh(ctx); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *Tree) prepare(ctx context.Context, path string) error {
	var appID, version int64
	if err := t.db.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return fmt.Errorf("notary: %s: %w", path, err)
	}
	if err := t.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	switch {
	case appID != 0 && appID != ApplicationID:
		return fmt.Errorf("notary: %s is not a ledger notary file (SQLite application id %#x)", path, appID)
	case version > FormatVersion:
		return fmt.Errorf("notary: %s is format %d, newer than this binary's (%d): use a newer ledger binary", path, version, FormatVersion)
	}
	_, err := t.db.ExecContext(ctx, schema+fmt.Sprintf(`PRAGMA application_id = %d; PRAGMA user_version = %d;`, ApplicationID, FormatVersion))
	if err != nil {
		return fmt.Errorf("notary: create schema in %s: %w", path, err)
	}
	return nil
}

// refresh reads the committed size: another process may have grown the
// tree.
func (t *Tree) refresh(ctx context.Context) error {
	var size, pos int64
	err := t.db.QueryRowContext(ctx, `SELECT leaves, position FROM follower WHERE id = 1`).Scan(&size, &pos)
	if errors.Is(err, sql.ErrNoRows) {
		size, pos = 0, 0
	} else if err != nil {
		return fmt.Errorf("notary: read the follower's position: %w", err)
	}
	for _, f := range []struct {
		file *os.File
		need int64
	}{{t.leaves, size * leafRecordSize}, {t.hashes, tlog.StoredHashCount(size) * tlog.HashSize}} {
		st, err := f.file.Stat()
		if err != nil {
			return err
		}
		if st.Size() < f.need {
			return fmt.Errorf("notary: %s holds %d bytes, less than the %d its %d committed leaves need: the tree files were cut; run ledger rebuild",
				f.file.Name(), st.Size(), f.need, size)
		}
	}
	t.size, t.last = size, eventstore.Position(pos)
	return nil
}

// Size returns the number of leaves committed: the tree's size.
func (t *Tree) Size() int64 { return t.size }

// Last returns the global position of the last leaf (0 when empty).
func (t *Tree) Last() eventstore.Position { return t.last }

// ReadHashes implements tlog.HashReader over the committed tree.
func (t *Tree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	limit := tlog.StoredHashCount(t.size)
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= limit {
			return nil, fmt.Errorf("notary: stored hash %d is past the tree's %d leaves", x, t.size)
		}
		if _, err := t.hashes.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
			return nil, fmt.Errorf("notary: read stored hash %d: %w", x, err)
		}
	}
	return out, nil
}

// Root returns the root hash of the tree's first n leaves.
func (t *Tree) Root(n int64) (tlog.Hash, error) {
	if n > t.size {
		return tlog.Hash{}, fmt.Errorf("notary: the tree has %d leaves, not %d", t.size, n)
	}
	return tlog.TreeHash(n, t)
}

// LeafHash returns the record hash of leaf i (level 0 of the tree).
func (t *Tree) LeafHash(i int64) (tlog.Hash, error) {
	hs, err := t.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
	if err != nil {
		return tlog.Hash{}, err
	}
	return hs[0], nil
}

// LeafRef is where a leaf's event is in the log.
type LeafRef struct {
	Index    int64
	Position eventstore.Position
	EventID  uuid.UUID
}

// Leaf returns the position and event id of leaf i.
func (t *Tree) Leaf(i int64) (LeafRef, error) {
	if i < 0 || i >= t.size {
		return LeafRef{}, fmt.Errorf("notary: leaf %d is past the tree's %d leaves", i, t.size)
	}
	var rec [leafRecordSize]byte
	if _, err := t.leaves.ReadAt(rec[:], i*leafRecordSize); err != nil {
		return LeafRef{}, fmt.Errorf("notary: read leaf %d: %w", i, err)
	}
	return decodeLeaf(i, rec[:]), nil
}

func decodeLeaf(i int64, rec []byte) LeafRef {
	l := LeafRef{Index: i, Position: eventstore.Position(binary.BigEndian.Uint64(rec[:8]))}
	copy(l.EventID[:], rec[8:leafRecordSize])
	return l
}

// ErrNotInTree is returned by Find for an event the tree does not hold.
var ErrNotInTree = errors.New("notary: no such event in the tree")

// Find returns the leaf of an event by its id, reading notary.leaves from
// the start: a few tens of milliseconds per million events.
func (t *Tree) Find(id uuid.UUID) (LeafRef, error) {
	r := io.NewSectionReader(t.leaves, 0, t.size*leafRecordSize)
	buf := make([]byte, 4096*leafRecordSize)
	var i int64
	for {
		n, err := io.ReadFull(r, buf)
		for off := 0; off+leafRecordSize <= n; off += leafRecordSize {
			if [16]byte(buf[off+8:off+leafRecordSize]) == id {
				return decodeLeaf(i, buf[off:off+leafRecordSize]), nil
			}
			i++
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return LeafRef{}, fmt.Errorf("%w: %s", ErrNotInTree, id)
		}
		if err != nil {
			return LeafRef{}, err
		}
	}
}

// Close closes the files.
func (t *Tree) Close() error {
	var errs []error
	for _, f := range []*os.File{t.leaves, t.hashes} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(append(errs, t.db.Close())...)
}
