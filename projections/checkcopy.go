package projections

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"golang.org/x/mod/sumdb/tlog"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/atomicfile"
	"github.com/cptsledger/ledger/internal/dirlock"
	"github.com/cptsledger/ledger/internal/sqlitec"
	"github.com/cptsledger/ledger/notary"
)

// The incremental check. A full check folds the whole log again (most of
// its time). A check given a memory (CheckOptions.Memory) keeps its fold,
// in the read models' directory (CopyName), and remembers, in the memory
// file, which should live outside the data directory (beside the
// auditor's keys), what proves that copy next time: the SHA-256 of its
// file, the position it was folded to, and the frontier of the Merkle tree
// of the log's events it folded. At the next check the copy is used only
// when its file hashes the same (it was not edited since), the log's first
// events are still those it folded (the tree's root, which verify
// recomputes from the events as stored now, is the remembered frontier's),
// and the read models' formats are this binary's; it is then brought
// forward by the events since, like a live file, and compared. Otherwise
// the check folds the whole log again and says why. Whoever can write the
// data directory can edit the copy, not the memory kept elsewhere.

// CopyName is the file, in the read models' directory, of the fold a
// remembering check keeps.
const CopyName = "checked-copy.db"

// memoryFormat is the format of a check's memory file.
const memoryFormat = 1

// maxMemory is the largest memory file read.
const maxMemory = 64 << 10

// Memory is what a remembering check writes in its memory file.
type Memory struct {
	Format     int                 `json:"format"`
	ReadModels int                 `json:"read_model_format"`
	Versions   map[string]int      `json:"versions"`
	Position   eventstore.Position `json:"position"`
	Events     int64               `json:"events"`
	Peaks      []string            `json:"peaks"`
	CopySHA256 string              `json:"copy_sha256"`
	CheckedAt  time.Time           `json:"checked_at"`
}

// ReadMemory reads a check's memory file strictly (a member unknown or
// given twice is refused); a missing file is an error wrapping
// fs.ErrNotExist.
func ReadMemory(path string) (Memory, error) {
	f, err := os.Open(path)
	if err != nil {
		return Memory{}, err
	}
	defer f.Close()
	// A memory holds a few versions and at most 63 peaks: well under
	// maxMemory bytes. A larger file is not one.
	b, err := io.ReadAll(io.LimitReader(f, maxMemory+1))
	if err != nil {
		return Memory{}, err
	}
	if len(b) > maxMemory {
		return Memory{}, fmt.Errorf("projections: %s is not a check's memory: larger than %d bytes", path, maxMemory)
	}
	var m Memory
	if err := jsonv2.Unmarshal(b, &m, jsonv2.RejectUnknownMembers(true)); err != nil {
		return Memory{}, fmt.Errorf("projections: %s is not a check's memory: %v", path, err)
	}
	return m, nil
}

// frontier is the remembered frontier of the log's tree.
func (m Memory) frontier() (*notary.Frontier, error) {
	peaks := make([]tlog.Hash, len(m.Peaks))
	for i, p := range m.Peaks {
		b, err := base64.StdEncoding.Strict().DecodeString(p)
		if err != nil || len(b) != len(peaks[i]) {
			return nil, fmt.Errorf("peak %d is not a base64 SHA-256", i)
		}
		copy(peaks[i][:], b)
	}
	return notary.FrontierOf(m.Events, peaks)
}

// versions are this binary's projection versions.
func versions() map[string]int {
	out := map[string]int{}
	for _, p := range All() {
		out[p.Name()] = p.Version()
	}
	return out
}

// copyPath is the kept copy's file.
func (s *Set) copyPath() string { return filepath.Join(s.dir, CopyName) }

// keptCopy returns the log's frontier and the position of the kept copy
// when it can be brought forward, or why it cannot.
func (s *Set) keptCopy(opts CheckOptions) (fr *notary.Frontier, pos eventstore.Position, sum, why string) {
	m, err := ReadMemory(opts.Memory)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, "", "no memory of an earlier check at " + opts.Memory
	}
	if err != nil {
		return nil, 0, "", err.Error()
	}
	if m.Format != memoryFormat || m.ReadModels != FormatVersion || !maps.Equal(m.Versions, versions()) {
		return nil, 0, "", "the read models' format or a projection's version changed since the last check"
	}
	fr, err = m.frontier()
	if err != nil {
		return nil, 0, "", "the memory's frontier cannot be read: " + err.Error()
	}
	want, err := fr.Root()
	if got, ok := opts.LogRoot(m.Events); err != nil || !ok || got != want {
		return nil, 0, "", fmt.Sprintf("the log's first %d events are not those the kept copy folded (the log was changed or restored since)", m.Events)
	}
	if st, err := os.Stat(s.copyPath() + "-wal"); err == nil && st.Size() > 0 {
		return nil, 0, "", "the kept copy was opened and written since the last check"
	}
	sum, err = fileSHA256(s.copyPath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, 0, "", "the kept copy " + CopyName + " is missing"
	case err != nil:
		return nil, 0, "", err.Error()
	case sum != m.CopySHA256:
		return nil, 0, "", "the kept copy " + CopyName + " was changed since the last check"
	}
	return fr, m.Position, sum, ""
}

// fileSHA256 is the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	// A large buffer: the copy is hundreds of megabytes, read in 32 KiB
	// it costs a system call for every 32 KiB hashed.
	if _, err := io.CopyBuffer(h, struct{ io.Reader }{f}, make([]byte, 1<<20)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// foldCopy folds the log up to at into a new kept copy, and returns the
// frontier of the events it folded.
func (s *Set) foldCopy(ctx context.Context, store eventstore.Store, at eventstore.Position) (*notary.Frontier, error) {
	path := s.copyPath()
	tmp := path + ".tmp"
	removeFile(tmp)
	fr := &notary.Frontier{}
	leaves := func(evs []Event) {
		for i := range evs {
			fr.Append(tlog.RecordHash(evs[i].Hash[:]))
		}
	}
	if _, err := build(ctx, store, tmp, BuildOptions{UpTo: &at, keys: s.keys, onEvents: leaves}); err != nil {
		removeFile(tmp)
		return nil, fmt.Errorf("projections: fold the log again: %w", err)
	}
	removeFile(path)
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return fr, nil
}

// removeFile removes an SQLite file and its companions.
func removeFile(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(path + suffix)
	}
}

// forwardCopy applies to the kept copy the events after its position up to
// at, the frontier following them; it returns how many it applied.
func (s *Set) forwardCopy(ctx context.Context, store eventstore.Store, fr *notary.Frontier, at eventstore.Position) (uint64, error) {
	db, err := open(ctx, s.copyPath(), false)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.keys = s.keys
	leaves := func(evs []Event) error {
		for i := range evs {
			fr.Append(tlog.RecordHash(evs[i].Hash[:]))
		}
		return nil
	}
	prog, err := NewRunner(store, db, Options{UpTo: &at, BeforeCommit: leaves}).CatchUp(ctx)
	return prog.Applied, err
}

// sealCopy makes the kept copy one file (no WAL: its hash covers all it
// holds) and writes the memory of it, at position at, to path. sum is the
// copy's hash when it is known (checked, and nothing wrote the file since).
func (s *Set) sealCopy(path string, fr *notary.Frontier, at eventstore.Position, sum string) error {
	if sum == "" {
		c, err := sqlitec.Open("projections", s.copyPath(), sqlite3.SQLITE_OPEN_READWRITE, `PRAGMA journal_mode=DELETE`)
		if err != nil {
			return err
		}
		c.Close()
		os.Remove(s.copyPath() + "-shm")
		if sum, err = fileSHA256(s.copyPath()); err != nil {
			return err
		}
	}
	m := Memory{Format: memoryFormat, ReadModels: FormatVersion, Versions: versions(), Position: at,
		Events: fr.Size(), CopySHA256: sum, CheckedAt: time.Now().UTC()}
	for _, p := range fr.Peaks() {
		m.Peaks = append(m.Peaks, base64.StdEncoding.EncodeToString(p[:]))
	}
	b, err := marshalMemory(m)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}

// marshalMemory is the memory file's text.
func marshalMemory(m Memory) ([]byte, error) {
	b, err := jsonv2.Marshal(m, jsonv2.Deterministic(true))
	return append(b, '\n'), err
}

// ForgetCopy removes the kept copy (ledger erase: it holds the personal
// data the read models held); the next remembering check folds the whole
// log again.
func (s *Set) ForgetCopy() error {
	lock, err := dirlock.Wait(s.copyPath() + ".lock") // not while a check uses it
	if err != nil {
		return err
	}
	defer lock.Release()
	for _, suffix := range []string{"", "-wal", "-shm", "-journal", ".tmp"} {
		if err := os.Remove(s.copyPath() + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// folder makes the fold a check compares with: a scratch file, the whole
// log folded, or, with a memory, the kept copy brought forward.
type folder struct {
	s       *Set
	opts    CheckOptions
	scratch string // the scratch directory, without a memory
	attempt int
	lock    *dirlock.Lock // the kept copy's, one check at a time

	fr          *notary.Frontier // of the events the copy folded (nil: none usable)
	pos         eventstore.Position
	sum         string // the copy's SHA-256 while nothing wrote it
	written     bool
	incremental bool
	from        eventstore.Position
	folded      uint64
	why         string
}

func (s *Set) newFolder(opts CheckOptions) (*folder, error) {
	f := &folder{s: s, opts: opts}
	if opts.Memory == "" || opts.LogRoot == nil {
		dir, err := os.MkdirTemp(s.dir, "verify-*.tmp")
		f.scratch = dir
		return f, err
	}
	lock, err := dirlock.Wait(s.copyPath() + ".lock")
	if err != nil {
		return nil, err
	}
	f.lock = lock
	f.fr, f.pos, f.sum, f.why = s.keptCopy(opts)
	f.incremental, f.from = f.fr != nil, f.pos
	return f, nil
}

// foldTo returns the path of a fold of the log up to at.
func (f *folder) foldTo(ctx context.Context, store eventstore.Store, at eventstore.Position) (string, error) {
	if f.scratch != "" {
		path := filepath.Join(f.scratch, fmt.Sprintf("fold-%d.db", f.attempt))
		f.attempt++
		prog, err := build(ctx, store, path, BuildOptions{UpTo: &at, keys: f.s.keys})
		if err != nil {
			return "", fmt.Errorf("projections: fold the log again: %w", err)
		}
		f.folded = prog.Applied
		return path, nil
	}
	if f.fr == nil || f.pos > at {
		if f.fr != nil {
			f.why = fmt.Sprintf("the read models are at position %d, before the kept copy's %d", at, f.pos)
		}
		f.written = true
		fr, err := f.s.foldCopy(ctx, store, at)
		if err != nil {
			return "", err
		}
		f.fr, f.pos, f.folded, f.incremental = fr, at, uint64(fr.Size()), false
		return f.s.copyPath(), nil
	}
	if f.pos == at {
		return f.s.copyPath(), nil // nothing new: the copy is not even opened
	}
	f.written = true
	n, err := f.s.forwardCopy(ctx, store, f.fr, at)
	f.folded += n
	if err != nil {
		return "", fmt.Errorf("projections: bring the kept copy forward: %w", err)
	}
	f.pos = at
	return f.s.copyPath(), nil
}

// describe says in rep how the fold was made.
func (f *folder) describe(rep *CheckReport) {
	rep.Incremental, rep.Folded = f.incremental, f.folded
	if f.incremental {
		rep.From = f.from
	} else if f.scratch == "" {
		rep.FullBecause = f.why
	}
}

// done remembers the kept copy at at (nothing without a memory).
func (f *folder) done(at eventstore.Position) error {
	if f.scratch != "" {
		return nil
	}
	sum := f.sum
	if f.written {
		sum = ""
	}
	if err := f.s.sealCopy(f.opts.Memory, f.fr, at, sum); err != nil {
		return fmt.Errorf("projections: remember the kept copy in %s: %w", f.opts.Memory, err)
	}
	return nil
}

func (f *folder) close() {
	if f.scratch != "" {
		os.RemoveAll(f.scratch)
	}
	if f.lock != nil {
		f.lock.Release()
	}
}
