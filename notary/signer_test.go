package notary_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/notary"
)

// The signer never signs two trees that disagree: after signing a tree of
// 40 events it signs the same tree grown to 60 (consistent), and refuses,
// naming both sizes and roots, a tree of another log under the same
// origin (of the same size, of a larger size) and a smaller tree — even
// with the data directory's notary files gone, since its memory is beside
// the key.
func TestTheSignerNeverSignsAFork(t *testing.T) {
	ctx := context.Background()
	signer, verifier := keys(t, "fork-test")
	const origin = "ledger.cpts.local/fork-test"
	genuine := t.TempDir()
	s := openStore(t, genuine)
	appendEvents(t, s, 0, 40)
	tree := openTree(t, genuine)
	first, err := tree.Checkpoint(ctx, s, signer, origin)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(signer.Memory()); err != nil || string(b) != first.Note {
		t.Fatalf("the memory holds %q (%v), want the checkpoint signed", b, err)
	}
	if st, _ := os.Stat(signer.Memory()); st.Mode().Perm() != 0o600 {
		t.Fatalf("the memory's mode is %#o", st.Mode().Perm())
	}
	appendEvents(t, s, 40, 20)
	if _, err := tree.Checkpoint(ctx, s, signer, origin); err != nil {
		t.Fatalf("a consistent, grown tree: %v", err)
	}
	last, _ := os.ReadFile(signer.Memory())
	c, err := notary.OpenCheckpoint(last, verifier)
	if err != nil || c.Size != 60 {
		t.Fatalf("the memory after the second checkpoint: %+v %v", c, err)
	}

	for _, tc := range []struct {
		name   string
		events int
		why    string
	}{
		{"another log, the same size", 60, "not a prefix"},
		{"another log, larger", 80, "not a prefix"},
		{"a smaller tree", 30, "a smaller tree"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			other := openStore(t, dir)
			appendEvents(t, other, 1000, tc.events) // other events: another tree
			if tc.why == "a smaller tree" {
				dir = t.TempDir()
				other = openStore(t, dir)
				appendEvents(t, other, 0, tc.events) // the genuine log's first events
			}
			_, err := openTree(t, dir).Checkpoint(ctx, other, signer, origin)
			var fork *notary.ForkError
			if !errors.As(err, &fork) || fork.Last.Size != 60 || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("signing %s: %v", tc.name, err)
			}
			for _, want := range []string{"last signed 60 events with root " + base64.StdEncoding.EncodeToString(c.Root[:]), "has " + strconv.Itoa(tc.events) + " events with root "} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("the refusal does not say %q: %v", want, err)
				}
			}
			if now, _ := os.ReadFile(signer.Memory()); string(now) != string(last) {
				t.Fatal("a refused signature changed the memory")
			}
		})
	}
	t.Run("another origin", func(t *testing.T) {
		_, err := tree.Checkpoint(ctx, s, signer, "ledger.cpts.local/elsewhere")
		if !strings.Contains(err.Error(), "another origin") {
			t.Fatalf("signing under another origin: %v", err)
		}
	})
	// The notary files of the data directory deleted: the tree is built
	// again from the genuine log, which is consistent: signed.
	tree.Close()
	for _, f := range []string{notary.DBFile, notary.LeavesFile, notary.HashesFile} {
		os.Remove(filepath.Join(genuine, f))
	}
	if _, err := openTree(t, genuine).Checkpoint(ctx, s, signer, origin); err != nil {
		t.Fatalf("the genuine log, its tree built again: %v", err)
	}
}
