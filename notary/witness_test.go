package notary_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/cptsledger/ledger/notary"
)

// A witness over loopback cosigns three checkpoints of a log as it grows
// (asking, after the first, for a consistency proof from the size it
// cosigned last), then refuses a fork: a checkpoint of another history
// under the same origin, signed with the log's key by someone who copied
// the key without its memory. It refuses a checkpoint the log's key did
// not sign. An auditor's policy counts the cosignatures.
func TestAWitnessCosignsAndRefusesAFork(t *testing.T) {
	ctx := context.Background()
	logSigner, logVerifier := keys(t, "witnessed-log")
	witnessSigner, witnessVerifier := keys(t, "witness-one")
	w := notary.NewWitness(witnessSigner, logVerifier, filepath.Join(t.TempDir(), "witness.last"))
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	client := notary.WitnessClient()
	policy := notary.WitnessPolicy{Keys: []note.Verifier{witnessVerifier}, Need: 1}
	const origin = "ledger.cpts.local/witnessed"

	dir := t.TempDir()
	s := openStore(t, dir)
	tree := openTree(t, dir)
	var last []byte
	for i := range 3 {
		appendEvents(t, s, i*10, 10)
		st, err := tree.Checkpoint(ctx, s, logSigner, origin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := policy.Check([]byte(st.Note)); err == nil {
			t.Fatal("a checkpoint no witness cosigned passes the policy")
		}
		cosigned, err := tree.Cosign(ctx, client, srv.URL, []byte(st.Note))
		if err != nil {
			t.Fatalf("checkpoint %d: %v", i+1, err)
		}
		names, err := policy.Check(cosigned)
		if err != nil || len(names) != 1 || names[0] != "witness-one" {
			t.Fatalf("checkpoint %d cosigned: %v %v\n%s", i+1, names, err, cosigned)
		}
		if _, err := notary.OpenCheckpoint(cosigned, logVerifier); err != nil {
			t.Fatalf("the log's signature after the cosignature: %v", err)
		}
		last = cosigned
	}

	// The fork: another history of 40 events under the same origin, signed
	// with a copy of the log's key that has its own, empty, memory.
	forkDir := t.TempDir()
	fs := openStore(t, forkDir)
	appendEvents(t, fs, 500, 40)
	copied := notary.WithMemory(logSigner.Signer, filepath.Join(t.TempDir(), "copied.last"))
	forkTree := openTree(t, forkDir)
	fork, err := forkTree.Checkpoint(ctx, fs, copied, origin)
	if err != nil {
		t.Fatal(err)
	}
	_, err = forkTree.Cosign(ctx, client, srv.URL, []byte(fork.Note))
	var we *notary.WitnessError
	if !errors.As(err, &we) || we.Status != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "refusing a fork") {
		t.Fatalf("the witness asked to cosign a fork: %v", err)
	}
	if _, err := policy.Check([]byte(fork.Note)); err == nil {
		t.Fatal("the fork passes an auditor's policy")
	}
	// The genuine log goes on: still cosigned.
	appendEvents(t, s, 30, 5)
	st, err := tree.Checkpoint(ctx, s, logSigner, origin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.Cosign(ctx, client, srv.URL, []byte(st.Note)); err != nil {
		t.Fatalf("the genuine log after the fork was refused: %v", err)
	}
	// A checkpoint signed by another key.
	other, _ := keys(t, "another-log")
	bad, _ := forkTree.Checkpoint(ctx, fs, other, origin)
	if _, err := forkTree.Cosign(ctx, client, srv.URL, []byte(bad.Note)); !errors.As(err, &we) || we.Status != http.StatusForbidden {
		t.Fatalf("a checkpoint of another key: %v", err)
	}
	// Two witnesses required, one given: refused by the policy.
	if _, err := (notary.WitnessPolicy{Keys: []note.Verifier{witnessVerifier}, Need: 2}).Check(last); err == nil || !strings.Contains(err.Error(), "2 required") {
		t.Fatalf("a policy of two: %v", err)
	}
}
