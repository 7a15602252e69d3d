package erasure

import (
	"errors"
	"fmt"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

// Command is `ledger erase --person RPPS --reason TEXT [--legal-basis TEXT]`:
// the administrator's, who holds the data directory.
func Command(e *cli.Env, args []string) error {
	fs := e.Flags("erase")
	person := fs.String("person", "", "the doctor's RPPS number (11 digits)")
	reason := fs.String("reason", "", "why the data are erased (recorded in the log: it must not name the person)")
	basis := fs.String("legal-basis", "", "the legal basis of an erasure before the end of the retention period (recorded)")
	actor := fs.String("actor", cli.EnvOr("LEDGER_ACTOR", cli.EnvOr("USER", "cli")), "who erases (env LEDGER_ACTOR)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	if *person == "" || *reason == "" {
		return cli.Usage("--person and --reason are required")
	}
	return e.ReadWriteWith(app.Options{Actor: *actor, Erasing: true}, func(ledger *app.Ledger, q *query.Ledger) error {
		rep, err := Erase(e.Ctx, ledger, q, e.Keys, Request{Person: *person, Reason: *reason, LegalBasis: *basis}, e.Log)
		var refused *ErrRefused
		if errors.As(err, &refused) {
			return cli.Fail(err.Error())
		}
		if err != nil {
			return err
		}
		// The read models held the data in clear: made again from the log,
		// twice, so that the generation a rebuild keeps for the processes
		// still reading it (the one before) is made after the erasure too,
		// and the last that held the data is removed.
		for range 2 {
			if _, err := e.RebuildModels(q.Store()); err != nil {
				return fmt.Errorf("the data are erased (key %s destroyed) but the read models could not be rebuilt: %w; run ledger rebuild twice", rep.KeyID, err)
			}
		}
		// So did the read-model check's kept copy (verify --models-memory).
		if err := e.ForgetCheckedCopy(); err != nil {
			return fmt.Errorf("the data are erased (key %s destroyed) but the read-model check's kept copy could not be removed: %w; remove %s from the data directory", rep.KeyID, err, projections.CopyName)
		}
		if e.Global.JSON {
			return e.PrintJSON(rep)
		}
		for _, c := range rep.Contracts {
			state := "recorded"
			if c.Already {
				state = "recorded before"
			}
			fmt.Fprintf(e.Stdout, "contract %s: erasure %s (retention period to %s)\n", c.ContractID, state, c.RetentionEnds)
		}
		fmt.Fprintf(e.Stdout, "key %s destroyed: what it sealed reads [effacé] everywhere; the log, its chains and checkpoints are unchanged\n", rep.KeyID)
		return nil
	})
}
