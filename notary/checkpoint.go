package notary

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/eventstore"
)

// Checkpoint is the body of a signed checkpoint (C2SP tlog-checkpoint):
// the log's origin, the tree's size and its root hash.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// Text returns the checkpoint's body: the origin line, the size in
// decimal, the root hash in standard base64, each ending in a newline.
func (c Checkpoint) Text() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root[:]) + "\n"
}

// ParseCheckpoint reads a checkpoint's body: exactly an origin, a size and
// a root hash. C2SP allows extension lines after the third; this ledger
// signs none, so a body with one is refused rather than shown to an auditor
// with lines nobody checked.
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitAfter(text, "\n")
	if len(lines) != 4 || lines[3] != "" || !strings.HasSuffix(lines[2], "\n") {
		return Checkpoint{}, errors.New("notary: a checkpoint holds an origin, a size and a root hash, one per line, and nothing else")
	}
	var c Checkpoint
	c.Origin = strings.TrimSuffix(lines[0], "\n")
	size, err := strconv.ParseInt(strings.TrimSuffix(lines[1], "\n"), 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != strings.TrimSuffix(lines[1], "\n") {
		return Checkpoint{}, fmt.Errorf("notary: checkpoint size %q is not a decimal number", strings.TrimSuffix(lines[1], "\n"))
	}
	root, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(lines[2], "\n"))
	if err != nil || len(root) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("notary: checkpoint root hash %q is not 32 bytes in standard base64", strings.TrimSuffix(lines[2], "\n"))
	}
	if c.Origin == "" {
		return Checkpoint{}, errors.New("notary: checkpoint without origin")
	}
	c.Size = size
	copy(c.Root[:], root)
	return c, nil
}

// GenerateKey makes an Ed25519 signer key named name and returns it with
// its verifier key (name+hash+key, the note verifier format).
func GenerateKey(name string) (signer, verifier string, err error) {
	return note.GenerateKey(rand.Reader, name)
}

// WriteSignerKey writes a signer key to path with mode 0600, refusing to
// overwrite a file.
func WriteSignerKey(path, skey string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("notary: %s exists: a signer key is never overwritten", path)
	}
	if err != nil {
		return fmt.Errorf("notary: %w", err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("notary: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadSigner reads a signer key file. A file that others may read is
// refused, as ssh refuses a private key: the key is the ledger's word.
func LoadSigner(path string) (note.Signer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("notary: signer key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("notary: signer key %s can be read by others (mode %#o): chmod 600 %s", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notary: signer key: %w", err)
	}
	s, err := note.NewSigner(strings.TrimSpace(string(b)))
	if err != nil {
		// The note package's message does not hold the key.
		return nil, fmt.Errorf("notary: %s is not a signer key: %v", path, err)
	}
	return s, nil
}

// LoadVerifier reads a verifier key (a file holding name+hash+key).
func LoadVerifier(path string) (note.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notary: verifier key: %w", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("notary: %s is not a verifier key: %w", path, err)
	}
	return v, nil
}

// Sign signs a checkpoint as a note.
func Sign(c Checkpoint, s note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: c.Text()}, s)
}

// OpenCheckpoint checks a signed checkpoint's signature with v and reads
// its body.
func OpenCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		var unknown *note.UnverifiedNoteError
		if errors.As(err, &unknown) {
			return Checkpoint{}, fmt.Errorf("notary: the checkpoint is not signed by %s", v.Name())
		}
		return Checkpoint{}, fmt.Errorf("notary: the checkpoint's signature does not verify with %s: %w", v.Name(), err)
	}
	return ParseCheckpoint(n.Text)
}

// ReadNote reads a checkpoint's body without checking its signature (the
// prover attaches the note; the verifier checks it).
func ReadNote(msg []byte) (Checkpoint, error) {
	text, _, ok := strings.Cut(string(msg), "\n\n")
	if !ok {
		return Checkpoint{}, errors.New("notary: not a signed note (no blank line before the signatures)")
	}
	return ParseCheckpoint(text + "\n")
}

// Origin returns the ledger's origin: the one recorded at its first
// checkpoint, else one derived from the log's first event, which stays the
// same for the life of the ledger.
func (t *Tree) Origin(ctx context.Context, store eventstore.Store) (string, error) {
	var origin string
	err := t.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'origin'`).Scan(&origin)
	if err == nil {
		return origin, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	first, err := store.ReadAll(ctx, 0, 1)
	if err != nil {
		return "", err
	}
	if len(first) == 0 {
		return "", errors.New("notary: the log is empty: nothing to sign")
	}
	return "ledger.cpts.local/" + first[0].EventID.String(), nil
}

// Stored is a checkpoint signed and kept.
type Stored struct {
	ID       int64     `json:"id"`
	Origin   string    `json:"origin"`
	Size     int64     `json:"tree_size"`
	Root     string    `json:"root_hash"`
	KeyName  string    `json:"key_name"`
	SignedAt time.Time `json:"signed_at"`
	Note     string    `json:"note"`
}

// Checkpoint brings the tree up to date, signs a checkpoint of it with s
// under origin ("" for the ledger's own), keeps it and returns it. The
// signer refuses a tree inconsistent with the last checkpoint it signed
// (*ForkError; signer.go).
func (t *Tree) Checkpoint(ctx context.Context, store eventstore.Store, s *Signer, origin string) (Stored, error) {
	if _, err := t.CatchUp(ctx, store, Hooks{}); err != nil {
		return Stored{}, err
	}
	if origin == "" {
		var err error
		if origin, err = t.Origin(ctx, store); err != nil {
			return Stored{}, err
		}
	}
	if strings.ContainsAny(origin, "\n") || origin == "" {
		return Stored{}, errors.New("notary: an origin is one non-empty line")
	}
	root, err := t.Root(t.size)
	if err != nil {
		return Stored{}, err
	}
	c := Checkpoint{Origin: origin, Size: t.size, Root: root}
	msg, err := s.sign(c, t)
	if err != nil {
		return Stored{}, err
	}
	st := Stored{Origin: origin, Size: c.Size, Root: base64.StdEncoding.EncodeToString(root[:]), KeyName: s.Name(),
		SignedAt: time.Now().UTC().Truncate(time.Second), Note: string(msg)}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return Stored{}, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('origin', ?) ON CONFLICT (key) DO NOTHING`, origin); err != nil {
		return Stored{}, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO checkpoints (origin, tree_size, root_hash, key_name, signed_at, note) VALUES (?, ?, ?, ?, ?, ?)`,
		st.Origin, st.Size, st.Root, st.KeyName, st.SignedAt.Format(time.RFC3339), st.Note)
	if err != nil {
		return Stored{}, err
	}
	if st.ID, err = res.LastInsertId(); err != nil {
		return Stored{}, err
	}
	return st, tx.Commit()
}

// Checkpoints lists every checkpoint signed, oldest first.
func (t *Tree) Checkpoints(ctx context.Context) ([]Stored, error) {
	return t.checkpoints(ctx, `ORDER BY id`)
}

// CheckpointsAfter lists the checkpoints of more than size leaves, oldest
// first: those to publish after the last one published.
func (t *Tree) CheckpointsAfter(ctx context.Context, size int64) ([]Stored, error) {
	return t.checkpoints(ctx, fmt.Sprintf(`WHERE tree_size > %d ORDER BY id`, size))
}

// Latest returns the last checkpoint signed, if any.
func (t *Tree) Latest(ctx context.Context) (Stored, bool, error) {
	last, err := t.checkpoints(ctx, `ORDER BY id DESC LIMIT 1`)
	if err != nil || len(last) == 0 {
		return Stored{}, false, err
	}
	return last[0], true, nil
}

func (t *Tree) checkpoints(ctx context.Context, order string) ([]Stored, error) {
	rows, err := t.db.QueryContext(ctx, `SELECT id, origin, tree_size, root_hash, key_name, signed_at, note FROM checkpoints `+order)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Stored{}
	for rows.Next() {
		var s Stored
		var at string
		if err := rows.Scan(&s.ID, &s.Origin, &s.Size, &s.Root, &s.KeyName, &at, &s.Note); err != nil {
			return nil, err
		}
		if s.SignedAt, err = time.Parse(time.RFC3339, at); err != nil {
			return nil, fmt.Errorf("notary: checkpoint %d: signed_at %q: %w", s.ID, at, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Import keeps checkpoints signed by this ledger before (a backup's), in
// their order, after checking each against the tree: its note's body is
// its fields, and the tree's first leaves have its root. A checkpoint the
// tree does not match is refused, and nothing is imported. One already
// kept (the same note) is skipped. It returns how many were imported.
func (t *Tree) Import(ctx context.Context, cps []Stored) (int, error) {
	for _, st := range cps {
		c, err := ReadNote([]byte(st.Note))
		if err != nil {
			return 0, fmt.Errorf("notary: checkpoint %d of the backup: %w", st.ID, err)
		}
		if c.Origin != st.Origin || c.Size != st.Size || base64.StdEncoding.EncodeToString(c.Root[:]) != st.Root {
			return 0, fmt.Errorf("notary: checkpoint %d of the backup: its fields are not its note's", st.ID)
		}
		if err := t.checkAgainst(c); err != nil {
			return 0, fmt.Errorf("notary: checkpoint %d of the backup (%d events): %w", st.ID, st.Size, err)
		}
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	n := 0
	for _, st := range cps {
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM checkpoints WHERE note = ?`, st.Note).Scan(&have); err != nil {
			return 0, err
		}
		if have > 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('origin', ?) ON CONFLICT (key) DO NOTHING`, st.Origin); err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoints (origin, tree_size, root_hash, key_name, signed_at, note) VALUES (?, ?, ?, ?, ?, ?)`,
			st.Origin, st.Size, st.Root, st.KeyName, st.SignedAt.UTC().Format(time.RFC3339), st.Note); err != nil {
			return 0, err
		}
		n++
	}
	return n, tx.Commit()
}

// LastCovered returns the log position of the last event a checkpoint of
// this tree covers (0 for an empty one): an event at or before it can be
// proven in the checkpoint.
func (t *Tree) LastCovered(st Stored) (eventstore.Position, error) {
	if st.Size == 0 {
		return 0, nil
	}
	leaf, err := t.Leaf(st.Size - 1)
	return leaf.Position, err
}
