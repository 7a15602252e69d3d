package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/notary"
)

// runVerifyProof checks a proof offline, with only the verifier key (and
// the witnesses' keys), and says what it vouches for.
func runVerifyProof(e *cli.Env, args []string) error {
	fs := e.Flags("verify-proof")
	proofFile := fs.String("proof", "", "the proof (a line of JSON from ledger prove); - for standard input")
	keyFile := fs.String("verifier-key", "", "the verifier key the checkpoints are signed with")
	witnessKeys, need := policyFlags(fs)
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	if *proofFile == "" || *keyFile == "" {
		return cli.Usage("--proof and --verifier-key are required")
	}
	policy, err := witnessPolicy(*witnessKeys, *need)
	if err != nil {
		return err
	}
	v, err := notary.LoadVerifier(*keyFile)
	if err != nil {
		return cli.Fail(err.Error())
	}
	var raw []byte
	if *proofFile == "-" {
		raw, err = readAllLimited(e.Stdin, 64<<20)
	} else {
		raw, err = os.ReadFile(*proofFile)
	}
	if err != nil {
		return cli.Fail(err.Error())
	}
	res, err := notary.VerifyProof(raw, v)
	if err != nil {
		return cli.Fail("INVALID: " + err.Error())
	}
	var cosigners []string
	for _, n := range res.Notes {
		names, err := policy.Check(n)
		if err != nil {
			return cli.Fail("INVALID: the checkpoint " + err.Error())
		}
		cosigners = names
	}
	if e.Global.JSON {
		out := proofJSON(res, v.Name())
		if len(policy.Keys) > 0 {
			out["cosigned_by"] = cosigners
		}
		return e.PrintJSON(out)
	}
	textout.VerifiedProof(e.Stdout, res, v.Name())
	if len(policy.Keys) > 0 {
		fmt.Fprintf(e.Stdout, "witnesses: cosigned by %s (%d required of the %d given)\n", strings.Join(cosigners, ", "), policy.Need, len(policy.Keys))
	}
	return nil
}

// proofJSON is verify-proof's answer in JSON: what the proof vouches for.
func proofJSON(res notary.VerifiedProof, signer string) map[string]any {
	out := map[string]any{"ok": true, "kind": res.Kind, "origin": res.Origin, "tree_size": res.TreeSize,
		"event_id": res.EventID, "leaf_index": res.LeafIndex, "old_size": res.OldSize,
		"root_hash": base64.StdEncoding.EncodeToString(res.Checkpoint.Root[:]), "signed_by": signer}
	if ev := res.Event; ev != nil {
		vouched := map[string]any{"event_id": ev.EventID, "stream": ev.Stream, "revision": ev.Revision, "type": ev.Type,
			"occurred_on": ev.OccurredOn, "recorded_at": ev.RecordedAt, "actor": ev.Actor, "hash": ev.Hash}
		if res.Amount != "" {
			vouched["amount"] = res.Amount
		}
		out["event"] = vouched
	}
	return out
}

// readAllLimited reads r up to limit bytes, and fails past them.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, err
}
