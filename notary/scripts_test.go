package notary_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/notary"
	"github.com/google/uuid"
)

// The independent verification scripts of docs/verification.md (Python's
// standard library only) accept the ledger's proofs, over trees of every
// shape and events with text that a JSON re-encoding would change, and
// refuse an edited one: the guide stays true.
func TestIndependentScriptsVerifyProofs(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the independent verification scripts of docs/verify cannot be run here")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	tree := openTree(t, dir)
	signer, verifier := keys(t, "scripts-test")
	// Data that must be taken verbatim: HTML characters, U+2028, non-ASCII,
	// an escaped quote.
	tricky := json.RawMessage(`{"name":"<script>alert(\"1\")</script> & co","sep":"a` + "\u2028" + `b","city":"Besançon","esc":"\u00e9"}`)
	if _, err := s.Append(ctx, "cpts-tricky", eventstore.NoStream(), []eventstore.EventData{{ID: uuid.New(), Type: "T", Data: tricky}}); err != nil {
		t.Fatal(err)
	}
	var cps []string
	total := 1
	for _, n := range []int{0, 1, 1, 3, 1, 1, 10, 2} {
		appendEvents(t, s, total, n)
		total += n
		st, err := tree.Checkpoint(ctx, s, signer, "")
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, st.Note)
	}
	// script runs one of the scripts over every proof given, in one go.
	script := func(name string, proofs []any) error {
		var files []string
		for i, p := range proofs {
			raw, err := notary.MarshalProof(p)
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(t.TempDir(), fmt.Sprintf("proof-%d.json", i))
			os.WriteFile(f, raw, 0o644)
			files = append(files, f)
		}
		out, err := exec.Command(python, append([]string{filepath.Join("..", "docs", "verify", name)}, files...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", name, err, out)
		}
		if n := strings.Count(string(out), "ok: "); n != len(proofs) {
			return fmt.Errorf("%s verified %d of %d proofs:\n%s", name, n, len(proofs), out)
		}
		return nil
	}
	all, _ := s.ReadAll(ctx, 0, 100)
	var inclusion, consistency []any
	for _, cp := range cps {
		c, _ := notary.ReadNote([]byte(cp))
		for _, e := range all[:c.Size] {
			p, err := tree.ProveEvent(ctx, s, e.EventID, []byte(cp))
			if err != nil {
				t.Fatal(err)
			}
			inclusion = append(inclusion, p)
		}
	}
	for i := range cps {
		for j := i; j < len(cps); j++ {
			p, err := tree.ProveConsistency([]byte(cps[i]), []byte(cps[j]))
			if err != nil {
				t.Fatal(err)
			}
			consistency = append(consistency, p)
		}
	}
	raw, _ := notary.MarshalProof(inclusion[0])
	if _, err := notary.VerifyProof(raw, verifier); err != nil || !strings.Contains(string(raw), string(tricky)) {
		t.Fatalf("the tricky event's proof: %v\n%s", err, raw)
	}
	if err := script("verify_proof.py", inclusion); err != nil {
		t.Fatal(err)
	}
	if err := script("verify_consistency.py", consistency); err != nil {
		t.Fatal(err)
	}
	p, _ := tree.ProveEvent(ctx, s, all[0].EventID, []byte(cps[len(cps)-1]))
	p.Event.Data = json.RawMessage(strings.Replace(string(p.Event.Data), "Besançon", "Besancon", 1))
	if err := script("verify_proof.py", []any{p}); err == nil {
		t.Fatal("the script accepted an edited event")
	}
}
