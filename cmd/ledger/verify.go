package main

import (
	"errors"
	"fmt"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/projections"
)

func runVerify(e *env, args []string) error {
	fs := e.flags("verify")
	var cpFiles filesFlag
	fs.Var(&cpFiles, "checkpoint", "a signed checkpoint the log must match (repeatable)")
	keyFile := fs.String("verifier-key", "", "the verifier key the checkpoints are signed with")
	logOnly := fs.Bool("log-only", false, "check the log only, not the read models against it (faster)")
	witnessKeys, need := policyFlags(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	policy, err := witnessPolicy(*witnessKeys, *need)
	if err != nil {
		return err
	}
	cps, err := readCheckpoints(cpFiles, *keyFile, policy)
	if err != nil {
		return err
	}
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := verifyLog(e, store, cps)
	if err != nil {
		return err
	}
	out := map[string]any{"ok": true, "events": rep.Events, "streams": rep.Streams, "head": rep.Head, "checkpoints": rep.Checkpoints}
	var models *projections.CheckReport
	if !*logOnly {
		m, err := e.models().Check(e.ctx, store, 20)
		switch {
		case errors.Is(err, projections.ErrNoReadModels):
			out["read_models"] = "none"
			*logOnly = true
		case err != nil:
			return err
		default:
			models = &m
			out["read_models"] = m
			out["ok"] = len(m.Mismatches) == 0
			e.recordModels(m)
		}
	}
	if len(policy.Keys) > 0 {
		out["witnesses_required"] = policy.Need
	}
	if e.global.json {
		out["scope"] = textout.VerifyScope(len(cps) > 0, models != nil)
		if err := e.printJSON(out); err != nil {
			return err
		}
	} else {
		textout.Verified(e.stdout, rep, len(cps), models)
		if len(policy.Keys) > 0 && len(cps) > 0 {
			fmt.Fprintf(e.stdout, "witnesses: each checkpoint cosigned by at least %d of the %d witnesses given\n", policy.Need, len(policy.Keys))
		}
		if out["read_models"] == "none" {
			fmt.Fprintln(e.stdout, "read models: none yet in this directory (no query has built them): nothing served, nothing to compare")
		}
		fmt.Fprintln(e.stdout, "scope: "+textout.VerifyScope(len(cps) > 0, models != nil))
	}
	if models != nil && len(models.Mismatches) > 0 {
		return failed{fmt.Sprintf("FAILED: the read models differ from the log in %d rows (first: table %s, contract %s); ledger rebuild makes them again from the log",
			int64(len(models.Mismatches))+models.More, models.Mismatches[0].Table, models.Mismatches[0].ContractID)}
	}
	return nil
}

// verifyLog checks the log's chains and the checkpoints, and turns a
// failure into the command's answer.
func verifyLog(e *env, store eventstore.Store, cps []notary.Named) (notary.LogReport, error) {
	var tree *notary.Tree
	if len(cps) > 0 && e.hasTree() {
		// Read only to name the first event that differs, never trusted.
		t, err := e.openTree()
		if err != nil {
			return notary.LogReport{}, err
		}
		defer t.Close()
		tree = t
	}
	rep, err := notary.VerifyLog(e.ctx, store, cps, tree)
	e.recordChain(rep, err)
	var ce *eventstore.CorruptionError
	var cpe *notary.CheckpointError
	switch {
	case errors.As(err, &ce):
		if e.global.json {
			e.printJSON(map[string]any{"ok": false, "stream": ce.Stream, "revision": ce.Revision, "position": ce.Position, "event_id": ce.EventID, "reason": ce.Reason})
		}
		return rep, failed{fmt.Sprintf("FAILED: first bad event: stream %s revision %d position %d event %s: %s", ce.Stream, ce.Revision, ce.Position, ce.EventID, ce.Reason)}
	case errors.As(err, &cpe):
		if e.global.json {
			out := map[string]any{"ok": false, "checkpoint": cpe.Name, "tree_size": cpe.Size, "reason": cpe.Reason}
			if d := cpe.First; d != nil {
				out["first_different_leaf"] = d.Leaf
				if d.Now != nil {
					out["event_id"], out["stream"], out["revision"], out["position"] = d.Now.EventID, d.Now.Stream, d.Now.Revision, d.Now.Position
				}
			}
			e.printJSON(out)
		}
		return rep, failed{"FAILED: " + cpe.Error()}
	}
	return rep, err
}
