package main

import (
	"fmt"
	"os"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/notary"
)

func runCheckpoint(e *cli.Env, args []string) error {
	fs := e.Flags("checkpoint")
	keyFile := fs.String("signing-key", "", "signer key file (env LEDGER_SIGNING_KEY)")
	origin := fs.String("origin", "", "the log's origin line (default: the ledger's own, stable for its life)")
	var witnesses cli.FilesFlag
	fs.Var(&witnesses, "witness", "the URL of a witness to cosign the checkpoint (repeatable; ledger witness runs one)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	s, err := signer(*keyFile)
	if err != nil {
		return err
	}
	return withTree(e, func(store eventstore.Store, tree *notary.Tree) error {
		st, err := tree.Checkpoint(e.Ctx, store, s, *origin)
		if err != nil {
			return err
		}
		if st, err = tree.CosignAll(e.Ctx, st, witnesses); err != nil {
			return cli.Fail(fmt.Sprintf("FAILED: the checkpoint of %d events was signed but not cosigned: %v", st.Size, err))
		}
		if e.Global.JSON {
			return e.PrintJSON(st)
		}
		fmt.Fprint(e.Stdout, st.Note)
		return nil
	})
}

func runCheckpoints(e *cli.Env, args []string) error {
	if err := e.Parse(e.Flags("checkpoints"), args); err != nil {
		return err
	}
	tree, err := e.OpenTree()
	if err != nil {
		return err
	}
	defer tree.Close()
	all, err := tree.Checkpoints(e.Ctx)
	if err != nil {
		return err
	}
	if e.Global.JSON {
		return e.PrintJSON(all)
	}
	tw := textout.NewTable(e.Stdout)
	fmt.Fprintln(tw, "ID\tSIGNED\tSIZE\tROOT\tKEY\tORIGIN\t")
	for _, c := range all {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t\n", c.ID, c.SignedAt.Format("2006-01-02T15:04:05Z"), c.Size, c.Root, c.KeyName, c.Origin)
	}
	return tw.Flush()
}

// readCheckpoints reads and opens checkpoint files with the verifier key,
// each checked against the witness policy.
func readCheckpoints(files []string, keyFile string, policy notary.WitnessPolicy) ([]notary.Named, error) {
	if len(files) == 0 {
		return nil, nil
	}
	if keyFile == "" {
		return nil, cli.Usage("--checkpoint needs --verifier-key FILE")
	}
	v, err := notary.LoadVerifier(keyFile)
	if err != nil {
		return nil, cli.Fail(err.Error())
	}
	var out []notary.Named
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, cli.Fail(fmt.Sprintf("checkpoint %s: %v", f, err))
		}
		c, err := notary.OpenCheckpoint(raw, v)
		if err != nil {
			return nil, cli.Fail(fmt.Sprintf("FAILED: checkpoint %s: %v", f, err))
		}
		if _, err := policy.Check(raw); err != nil {
			return nil, cli.Fail(fmt.Sprintf("FAILED: checkpoint %s: %v", f, err))
		}
		out = append(out, notary.Named{Name: f, Checkpoint: c})
	}
	return out, nil
}
