package main

import (
	"fmt"
	"time"

	"github.com/cptsledger/ledger/internal/cli"
)

// runRebuild builds the read models again from the whole log into a new
// file, and switches to it once complete: queries and serve keep reading
// the old one meanwhile. The notary's tree, when the directory has one, is
// rebuilt and compared.
func runRebuild(e *cli.Env, args []string) error {
	if err := e.Parse(e.Flags("rebuild"), args); err != nil {
		return err
	}
	store, err := e.OpenStore()
	if err != nil {
		return err
	}
	defer store.Close()
	prog, err := e.RebuildModels(store)
	if err != nil {
		return err
	}
	out := map[string]any{"applied": prog.Applied, "position": prog.Position, "seconds": prog.Elapsed.Seconds(), "events_per_second": int(prog.Rate())}
	var treeFailure error
	if e.HasTree() {
		tree, err := e.OpenTree()
		if err != nil {
			return err
		}
		defer tree.Close()
		rep, err := tree.Rebuild(e.Ctx, store)
		if err != nil {
			return err
		}
		out["tree_leaves"], out["tree_compared"], out["tree_first_different_leaf"] = rep.Leaves, rep.Compared, rep.FirstDifferent
		out["tree_replaced"] = rep.FirstDifferent >= 0 && rep.Refused == ""
		switch {
		case rep.Refused != "":
			treeFailure = cli.Fail(fmt.Sprintf("the Merkle tree rebuilt from the log differs from the one kept, from leaf %d on, and was NOT put in its place: %s. The kept tree is unchanged; ledger verify --checkpoint with the published checkpoints tells where the log changed", rep.FirstDifferent, rep.Refused))
		case rep.FirstDifferent >= 0:
			treeFailure = cli.Fail(fmt.Sprintf("the Merkle tree kept differed from the log from leaf %d on, while the log still has the root of every signed checkpoint: the tree files were damaged; the tree was rebuilt from the log (old files kept in %s)", rep.FirstDifferent, rep.Aside))
		}
	}
	if e.Global.JSON {
		if err := e.PrintJSON(out); err != nil {
			return err
		}
		return treeFailure
	}
	fmt.Fprintf(e.Stdout, "rebuilt: %d events applied up to position %d in %s (%.0f events/s)\n", prog.Applied, prog.Position, prog.Elapsed.Round(time.Millisecond), prog.Rate())
	if leaves, ok := out["tree_leaves"]; ok && treeFailure == nil {
		fmt.Fprintf(e.Stdout, "tree: %d leaves rebuilt from the log; the %d kept before have the same hashes\n", leaves, out["tree_compared"])
	}
	return treeFailure
}
