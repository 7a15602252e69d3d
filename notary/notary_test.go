package notary_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/eventstore/storetest"
	"github.com/cptsledger/ledger/notary"
)

func openStoreErr(dir string) (*embedded.Store, error) {
	return embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
}

func openStore(t testing.TB, dir string) *embedded.Store {
	t.Helper()
	s, err := openStoreErr(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openTree(t testing.TB, dir string) *notary.Tree {
	t.Helper()
	tr, err := notary.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// appendEvents appends n events over a few streams.
func appendEvents(t testing.TB, s eventstore.Store, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := s.Append(context.Background(), fmt.Sprintf("cpts-%d", i%7), eventstore.Any(), []eventstore.EventData{storetest.Event("E", i)}); err != nil {
			t.Fatal(err)
		}
	}
}

type memHashes []tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m[x]
	}
	return out, nil
}

// referenceTree computes the stored hashes of the log with tlog alone.
func referenceTree(t *testing.T, s eventstore.Store) memHashes {
	t.Helper()
	var ref memHashes
	var n int64
	err := eventstore.EachPage(context.Background(), s, func(b []eventstore.Envelope) error {
		for _, e := range b {
			hs, err := tlog.StoredHashes(n, e.Hash[:], ref)
			if err != nil {
				return err
			}
			ref = append(ref, hs...)
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// The follower's stored hashes, added in batches of any size and across
// processes (trees), are tlog's, and every root is tlog.TreeHash.
func TestFollowerStoresTlogHashes(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	tree := openTree(t, dir)
	total := 0
	for _, n := range []int{1, 2, 5, 64, 300, 1} {
		appendEvents(t, s, total, n)
		total += n
		if _, err := tree.CatchUp(context.Background(), s, notary.Hooks{}); err != nil {
			t.Fatal(err)
		}
	}
	// Another handle on the same files sees the committed tree.
	other := openTree(t, dir)
	ref := referenceTree(t, s)
	if other.Size() != int64(total) || tlog.StoredHashCount(other.Size()) != int64(len(ref)) {
		t.Fatalf("tree of %d leaves, want %d", other.Size(), total)
	}
	got, err := other.ReadHashes(seq(len(ref)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ref {
		if got[i] != ref[i] {
			t.Fatalf("stored hash %d differs from tlog's", i)
		}
	}
	for _, n := range []int64{0, 1, 2, 3, 7, 64, int64(total)} {
		want, _ := tlog.TreeHash(n, ref)
		if root, err := other.Root(n); err != nil || root != want {
			t.Fatalf("root of %d leaves: %v %v", n, root, err)
		}
	}
	all, _ := s.ReadAll(context.Background(), 0, 1000)
	for i, e := range all {
		leaf, err := other.Find(e.EventID)
		if err != nil || leaf.Index != int64(i) || leaf.Position != e.Position {
			t.Fatalf("find %s: %+v %v", e.EventID, leaf, err)
		}
	}
}

func seq(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

func keys(t *testing.T, name string) (*notary.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := notary.GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return notary.WithMemory(s, filepath.Join(t.TempDir(), name+".last")), v
}

// An untouched log verifies against every checkpoint signed while it
// grew; every event's inclusion proof and the consistency proof between
// any two checkpoints verify; an edited proof does not.
func TestCheckpointsAndProofs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	tree := openTree(t, dir)
	signer, verifier := keys(t, "test-ledger")
	var signed []notary.Stored
	total := 0
	for _, n := range []int{3, 1, 40, 17, 100} {
		appendEvents(t, s, total, n)
		total += n
		st, err := tree.Checkpoint(ctx, s, signer, "")
		if err != nil {
			t.Fatal(err)
		}
		signed = append(signed, st)
	}
	stored, err := tree.Checkpoints(ctx)
	if err != nil || len(stored) != len(signed) {
		t.Fatalf("%d checkpoints kept, want %d (%v)", len(stored), len(signed), err)
	}
	var named []notary.Named
	for i, st := range signed {
		c, err := notary.OpenCheckpoint([]byte(st.Note), verifier)
		if err != nil {
			t.Fatal(err)
		}
		if c.Origin != stored[0].Origin || c.Size != st.Size {
			t.Fatalf("checkpoint %d: %+v", i, c)
		}
		named = append(named, notary.Named{Name: fmt.Sprint("cp", i), Checkpoint: c})
	}
	if rep, err := notary.VerifyLog(ctx, s, named, nil); err != nil || rep.Checkpoints != len(named) || rep.Events != uint64(total) {
		t.Fatalf("verify: %+v %v", rep, err)
	}

	all, _ := s.ReadAll(ctx, 0, 1000)
	last := []byte(signed[len(signed)-1].Note)
	for _, e := range all {
		p, err := tree.ProveEvent(ctx, s, e.EventID, last)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := notary.MarshalProof(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := notary.VerifyProof(raw, verifier); err != nil {
			t.Fatalf("inclusion of %s: %v", e.EventID, err)
		}
	}
	for i := range signed {
		for j := i; j < len(signed); j++ {
			p, err := tree.ProveConsistency([]byte(signed[i].Note), []byte(signed[j].Note))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := notary.MarshalProof(p)
			if _, err := notary.VerifyProof(raw, verifier); err != nil {
				t.Fatalf("consistency %d → %d: %v", i, j, err)
			}
		}
	}

	// Edited proofs fail.
	p, err := tree.ProveEvent(ctx, s, all[10].EventID, last)
	if err != nil {
		t.Fatal(err)
	}
	edits := map[string]func(*notary.InclusionProof){
		"data":       func(p *notary.InclusionProof) { p.Event.Data = json.RawMessage(`{"n":11,"text":"événement"}`) },
		"actor":      func(p *notary.InclusionProof) { p.Event.Actor = "someone else" },
		"leaf_index": func(p *notary.InclusionProof) { p.LeafIndex++ },
		"path":       func(p *notary.InclusionProof) { p.Inclusion[0] = p.Inclusion[1] },
		"short_path": func(p *notary.InclusionProof) { p.Inclusion = p.Inclusion[1:] },
		"tree_size":  func(p *notary.InclusionProof) { p.TreeSize-- },
		"checkpoint": func(p *notary.InclusionProof) { p.Checkpoint = signed[0].Note },
		"recorded":   func(p *notary.InclusionProof) { p.Event.RecordedAt = p.Event.RecordedAt[:19] + "Z" },
	}
	for name, edit := range edits {
		q := p
		q.Inclusion = append([]string(nil), p.Inclusion...)
		edit(&q)
		raw, _ := notary.MarshalProof(q)
		if _, err := notary.VerifyProof(raw, verifier); !errors.Is(err, notary.ErrInvalidProof) {
			t.Errorf("proof with an edited %s: %v, want invalid", name, err)
		}
	}
	// A proof against another key's checkpoint fails.
	_, other := keys(t, "impostor")
	raw, _ := notary.MarshalProof(p)
	if _, err := notary.VerifyProof(raw, other); !errors.Is(err, notary.ErrInvalidProof) {
		t.Fatalf("verified with another key: %v", err)
	}
	// The proof's data is the stored bytes, verbatim.
	if !bytes.Contains(raw, all[10].Data) {
		t.Fatalf("the proof does not hold the event's data verbatim: %s", raw)
	}
}

// Rebuilding the tree from the log finds the same hashes.
func TestRebuildFindsTheSameHashes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	tree := openTree(t, dir)
	appendEvents(t, s, 0, 500)
	if _, err := tree.CatchUp(ctx, s, notary.Hooks{}); err != nil {
		t.Fatal(err)
	}
	before, _ := tree.Root(500)
	appendEvents(t, s, 500, 20) // not yet in the tree
	rep, err := tree.Rebuild(ctx, s)
	if err != nil || rep.FirstDifferent != -1 || rep.Leaves != 520 || rep.Compared != 500 || rep.Aside != "" {
		t.Fatalf("rebuild: %+v %v", rep, err)
	}
	if after, _ := tree.Root(500); after != before || tree.Size() != 520 {
		t.Fatalf("the rebuilt tree differs: size %d", tree.Size())
	}
	damage := func() {
		f, err := os.OpenFile(filepath.Join(dir, notary.HashesFile), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte{0xff}, int64(tlog.StoredHashIndex(0, 300))*tlog.HashSize)
		f.Close()
	}
	// A tree file changed by hand, and no checkpoint signed to tell it
	// from a rewritten log: the kept tree is not replaced.
	damage()
	damaged, _ := os.ReadFile(filepath.Join(dir, notary.HashesFile))
	rep, err = tree.Rebuild(ctx, s)
	if err != nil || rep.FirstDifferent != 300 || rep.Aside != "" || !strings.Contains(rep.Refused, "no checkpoint") {
		t.Fatalf("rebuild of a damaged tree without checkpoints: %+v %v", rep, err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, notary.HashesFile)); !bytes.Equal(now, damaged) {
		t.Fatal("a refused rebuild changed the tree's files")
	}
	// With a checkpoint signed before the damage, the log is shown to be
	// what was signed: the damaged files are kept aside and replaced.
	tree.Close()
	os.Remove(filepath.Join(dir, notary.HashesFile))
	os.Remove(filepath.Join(dir, notary.LeavesFile))
	os.Remove(filepath.Join(dir, notary.DBFile))
	tree = openTree(t, dir)
	signer, _ := keys(t, "rebuild-test")
	if _, err := tree.Checkpoint(ctx, s, signer, ""); err != nil {
		t.Fatal(err)
	}
	damage()
	rep, err = tree.Rebuild(ctx, s)
	if err != nil || rep.FirstDifferent != 300 || rep.Aside == "" || rep.Refused != "" {
		t.Fatalf("rebuild after an edit: %+v %v", rep, err)
	}
	ref := referenceTree(t, s)
	want, _ := tlog.TreeHash(520, ref)
	if got, _ := tree.Root(520); got != want {
		t.Fatal("the tree after the rebuild is not the log's")
	}
}

// A signer key file is written with mode 0600, never over another file,
// and refused when others can read it.
func TestSignerKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "signer.key")
	skey, _, err := notary.GenerateKey("key-test")
	if err != nil {
		t.Fatal(err)
	}
	if err := notary.WriteSignerKey(path, skey); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %#o, want 0600", st.Mode().Perm())
	}
	if err := notary.WriteSignerKey(path, skey); err == nil {
		t.Fatal("an existing key file was overwritten")
	}
	if _, err := notary.LoadSigner(path); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	_, err = notary.LoadSigner(path)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("chmod 600")) {
		t.Fatalf("a key others can read: %v", err)
	}
	os.WriteFile(path, []byte("PRIVATE+KEY+broken+00000000+AAAA\n"), 0o600)
	if _, err := notary.LoadSigner(path); err == nil || bytes.Contains([]byte(err.Error()), []byte("AAAA")) {
		t.Fatalf("a broken key: %v (the error must not echo the key)", err)
	}
}
