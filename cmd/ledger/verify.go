package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/notary"
)

// runVerify checks every hash chain, the log against signed checkpoints,
// and the read models against the log.
func runVerify(e *cli.Env, args []string) error {
	fs := e.Flags("verify")
	var cpFiles cli.FilesFlag
	fs.Var(&cpFiles, "checkpoint", "a signed checkpoint the log must match (repeatable)")
	keyFile := fs.String("verifier-key", "", "the verifier key the checkpoints are signed with")
	logOnly := fs.Bool("log-only", false, "check the log only, not the read models against it (faster)")
	memory := fs.String("models-memory", os.Getenv("LEDGER_MODELS_MEMORY"), "a file outside the data directory where the read-model check remembers the fold it keeps: the next check brings that fold forward instead of folding the whole log")
	witnessKeys, need := policyFlags(fs)
	if err := e.Parse(fs, args); err != nil {
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
	roots, err := e.ModelsMemory(*memory, *logOnly)
	if err != nil {
		return err
	}
	store, err := e.OpenStore()
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := verifyLog(e, store, cps, roots)
	if err != nil {
		return err
	}
	res := textout.VerifyResult{Log: rep, Checkpoints: len(cps), WitnessesRequired: policy.Need, WitnessesGiven: len(policy.Keys)}
	if !*logOnly {
		m, err := e.CheckModels(store, 20, *memory, rep.Roots)
		if err != nil {
			return err
		}
		res.Models, res.NoReadModels = m, m == nil
	}
	if e.Global.JSON {
		if err := e.PrintJSON(res.JSON()); err != nil {
			return err
		}
	} else {
		res.Write(e.Stdout)
	}
	if m := res.Models; m != nil && len(m.Mismatches) > 0 {
		return cli.Fail(fmt.Sprintf("FAILED: the read models differ from the log in %d rows (first: table %s, contract %s); ledger rebuild makes them again from the log",
			int64(len(m.Mismatches))+m.More, m.Mismatches[0].Table, m.Mismatches[0].ContractID))
	}
	survivors, err := e.Keys.Survivors(e.Ctx, store)
	if err != nil {
		return err
	}
	if len(survivors) > 0 {
		return cli.Fail(fmt.Sprintf("FAILED: the key store holds %d keys of people the log says were erased (first: %s): an erasure stopped before destroying its key, or keys were restored by hand; run the same ledger erase again",
			len(survivors), survivors[0]))
	}
	return nil
}

// verifyLog checks the log's chains and the checkpoints, and turns a
// failure into the command's answer.
func verifyLog(e *cli.Env, store eventstore.Store, cps []notary.Named, roots []int64) (notary.LogReport, error) {
	var tree *notary.Tree
	if len(cps) > 0 && e.HasTree() {
		// Read only to name the first event that differs, never trusted.
		t, err := e.OpenTree()
		if err != nil {
			return notary.LogReport{}, err
		}
		defer t.Close()
		tree = t
	}
	rep, err := notary.VerifyLogRoots(e.Ctx, store, cps, tree, roots)
	e.RecordChain(rep, err)
	var ce *eventstore.CorruptionError
	var cpe *notary.CheckpointError
	if failure, ok := textout.VerifyFailure(err); ok {
		if e.Global.JSON {
			e.PrintJSON(failure)
		}
		if errors.As(err, &ce) {
			return rep, cli.Fail(fmt.Sprintf("FAILED: first bad event: stream %s revision %d position %d event %s: %s", ce.Stream, ce.Revision, ce.Position, ce.EventID, ce.Reason))
		}
		if errors.As(err, &cpe) {
			return rep, cli.Fail("FAILED: " + cpe.Error())
		}
	}
	return rep, err
}
