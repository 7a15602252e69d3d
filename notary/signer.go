package notary

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/internal/atomicfile"
	"github.com/cptsledger/ledger/internal/dirlock"
)

// A signer that never forks. Whoever can write the data directory — the
// log, the tree's files — could otherwise have the ledger sign a tree that
// disagrees with one it signed before: rewrite an event, recompute its
// stream's chain, delete the notary's files, and the next checkpoint has
// the old size and another root. So the signer remembers, beside its key
// and not in the data directory, the last checkpoint it signed, and signs a
// new one only when the tree proves consistent with it (tlog.ProveTree
// from the tree being signed, tlog.CheckTree against the remembered root):
// the same origin, a size not smaller, the remembered tree a prefix of the
// new one. Otherwise it refuses, naming both sizes and roots (ForkError).

// MemorySuffix is appended to a signer key file's path to name the file
// that remembers the last checkpoint the key signed.
const MemorySuffix = ".last-checkpoint"

// Signer is a signing key with its memory.
type Signer struct {
	note.Signer
	// memory is the file holding the last checkpoint signed (its note).
	memory string
}

// WithMemory gives a key the memory at path (a file beside the key; it is
// created at the first signature).
func WithMemory(s note.Signer, path string) *Signer { return &Signer{Signer: s, memory: path} }

// Memory is the path of the file remembering the last checkpoint signed.
func (s *Signer) Memory() string { return s.memory }

// ForkError: the tree to sign is not consistent with the last checkpoint
// the key signed.
type ForkError struct {
	Last, Next Checkpoint
	Why        string
}

func (e *ForkError) Error() string {
	return fmt.Sprintf("notary: refusing to sign: the key last signed %d events with root %s (origin %s, remembered in its memory file), and the tree to sign has %d events with root %s (origin %s): %s — the log or the tree files were changed since; ledger verify --checkpoint with the last published checkpoint tells where",
		e.Last.Size, base64.StdEncoding.EncodeToString(e.Last.Root[:]), e.Last.Origin,
		e.Next.Size, base64.StdEncoding.EncodeToString(e.Next.Root[:]), e.Next.Origin, e.Why)
}

// last reads the remembered checkpoint (false: the key has signed nothing
// yet, or before signers remembered).
func (s *Signer) last() (Checkpoint, bool, error) {
	b, err := os.ReadFile(s.memory)
	if errors.Is(err, fs.ErrNotExist) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("notary: the signer's memory: %w", err)
	}
	c, err := ReadNote(b)
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("notary: the signer's memory %s is not a checkpoint (%v): it is never guessed — restore it from a published checkpoint", s.memory, err)
	}
	return c, true, nil
}

// checkConsistent refuses next unless the tree r proves it consistent with
// the last checkpoint signed.
func (s *Signer) checkConsistent(next Checkpoint, r tlog.HashReader) error {
	last, ok, err := s.last()
	if err != nil || !ok {
		return err
	}
	fork := func(why string) error { return &ForkError{Last: last, Next: next, Why: why} }
	switch {
	case last.Origin != next.Origin:
		return fork("another origin")
	case next.Size < last.Size:
		return fork("a smaller tree")
	}
	proof, err := tlog.ProveTree(next.Size, last.Size, r)
	if err != nil {
		return fork("no consistency proof: " + err.Error())
	}
	if err := tlog.CheckTree(proof, next.Size, next.Root, last.Size, last.Root); err != nil {
		return fork("the remembered tree is not a prefix of it")
	}
	return nil
}

// remember keeps msg, the checkpoint just signed, as the last one.
func (s *Signer) remember(msg []byte) error {
	if err := atomicfile.Write(s.memory, msg); err != nil {
		return fmt.Errorf("notary: the signer's memory: %w", err)
	}
	return nil
}

// sign signs next after checking it against the memory, and remembers it,
// holding a lock beside the memory so that two processes with the same
// key (serve and ledger checkpoint) do not interleave.
func (s *Signer) sign(next Checkpoint, r tlog.HashReader) ([]byte, error) {
	if err := validMemoryPath(s.memory); err != nil {
		return nil, err
	}
	lock, err := dirlock.Wait(s.memory + ".lock")
	if err != nil {
		return nil, fmt.Errorf("notary: the signer's memory: %w", err)
	}
	defer lock.Release()
	if err := s.checkConsistent(next, r); err != nil {
		return nil, err
	}
	msg, err := Sign(next, s.Signer)
	if err != nil {
		return nil, err
	}
	if err := s.remember(msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// LoadSignerWithMemory reads a signer key file (LoadSigner) and gives it
// the memory beside it: path + MemorySuffix.
func LoadSignerWithMemory(path string) (*Signer, error) {
	s, err := LoadSigner(path)
	if err != nil {
		return nil, err
	}
	return WithMemory(s, path+MemorySuffix), nil
}

// validMemoryPath refuses a memory path that is empty or a directory.
func validMemoryPath(p string) error {
	if strings.TrimSpace(p) == "" {
		return errors.New("notary: a signer needs a memory file")
	}
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return fmt.Errorf("notary: the signer's memory %s is a directory", p)
	}
	return nil
}
