package notary_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/notary"
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
	skey, vkey, err := notary.GenerateKey("scripts-test")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := note.NewSigner(skey)
	signer := notary.WithMemory(key, filepath.Join(t.TempDir(), "signer.last"))
	verifier, _ := note.NewVerifier(vkey)
	pub := filepath.Join(dir, "verifier.pub")
	os.WriteFile(pub, []byte(vkey+"\n"), 0o600)
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
	// script runs one of the scripts over every proof given, in one go,
	// with python3 and with python3 -O (which drops asserts: the scripts
	// must check without them).
	script := func(name string, proofs []any) error {
		var files []string
		for i, p := range proofs {
			raw, ok := p.(string)
			if !ok {
				b, err := notary.MarshalProof(p)
				if err != nil {
					t.Fatal(err)
				}
				raw = string(b)
			}
			f := filepath.Join(t.TempDir(), fmt.Sprintf("proof-%d.json", i))
			os.WriteFile(f, []byte(raw), 0o644)
			files = append(files, f)
		}
		var errs []error
		for _, opt := range [][]string{nil, {"-O"}} {
			args := append(append(opt, filepath.Join("..", "docs", "verify", name), "--verifier-key", pub), files...)
			out, err := exec.Command(python, args...).CombinedOutput()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %v: %v\n%s", name, opt, err, out))
				continue
			}
			if n := strings.Count(string(out), "ok: "); n != len(proofs) {
				return fmt.Errorf("%s %v verified %d of %d proofs:\n%s", name, opt, n, len(proofs), out)
			}
		}
		if len(errs) == 1 {
			return fmt.Errorf("the script answered differently with -O: %v", errs[0])
		}
		return errors.Join(errs...)
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
	edited := p
	edited.Event.Data = json.RawMessage(strings.Replace(string(p.Event.Data), "Besançon", "Besancon", 1))
	genuine, _ := notary.MarshalProof(p)
	g := strings.TrimSpace(string(genuine))
	d := string(p.Event.Data)
	forgedData := strings.Replace(d, "Besançon", "Paris", 1)
	otherSigner, _, _ := keys2(t)
	otherCP, _ := tree.Checkpoint(ctx, s, otherSigner, "")
	sigAt := strings.LastIndex(p.Checkpoint, " ") + 5
	flipped := p
	flipped.Checkpoint = p.Checkpoint[:sigAt] + flip(p.Checkpoint[sigAt]) + p.Checkpoint[sigAt+1:]
	for name, forged := range map[string]any{
		"the data edited":                       edited,
		"a second member DATA, data forged":     strings.Replace(g, `"data":`+d, `"DATA":`+d+`,"data":`+forgedData, 1),
		"a second member data":                  strings.Replace(g, `"data":`+d, `"data":`+d+`,"data":`+forgedData, 1),
		"a member named twice inside data":      strings.Replace(g, `"city":"Besançon"`, `"city":"Besançon","city":"Paris"`, 1),
		"an unknown member":                     strings.Replace(g, `"leaf_index"`, `"note":"x","leaf_index"`, 1),
		"a checkpoint signed by another key":    func() any { q := p; q.Checkpoint = otherCP.Note; return q }(),
		"a checkpoint's signature byte flipped": flipped,
		"a checkpoint's size raised": func() any {
			q := p
			c, _ := notary.ReadNote([]byte(p.Checkpoint))
			q.Checkpoint = strings.Replace(p.Checkpoint, fmt.Sprintf("\n%d\n", c.Size), fmt.Sprintf("\n%d\n", c.Size+1), 1)
			if q.Checkpoint == p.Checkpoint {
				t.Fatal("the size was not raised")
			}
			return q
		}(),
	} {
		if raw, ok := forged.(string); ok && raw == g {
			t.Fatalf("%s: the test did not change the proof", name)
		}
		if err := script("verify_proof.py", []any{forged}); err == nil || strings.Contains(err.Error(), "answered differently") {
			t.Fatalf("the script accepted a proof with %s (or only without -O): %v", name, err)
		}
	}
	// The consistency script checks signatures too.
	cp := consistency[len(consistency)-1].(notary.ConsistencyProof)
	cp.NewCheckpoint = otherCP.Note
	if err := script("verify_consistency.py", []any{cp}); err == nil || strings.Contains(err.Error(), "answered differently") {
		t.Fatalf("the consistency script accepted a checkpoint signed by another key: %v", err)
	}
}

func keys2(t *testing.T) (*notary.Signer, note.Verifier, string) {
	t.Helper()
	skey, vkey, err := notary.GenerateKey("scripts-test")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return notary.WithMemory(s, filepath.Join(t.TempDir(), "signer.last")), v, vkey
}

// flip changes one base64 character of a signature.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}
