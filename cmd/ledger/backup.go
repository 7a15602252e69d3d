package main

import (
	"fmt"

	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/backup"
	"github.com/cptsledger/ledger/internal/textout"
)

func (e *env) printBackup(verb string, r backup.Report) error {
	if e.global.json {
		return e.printJSON(r)
	}
	fmt.Fprintf(e.stdout, "%s: %s in %s, head position %d, head hash %s, %s (%s)\n", verb, textout.Plural(int(r.Events), "event"), textout.Plural(r.Streams, "stream"),
		r.Head, r.HeadHash, textout.Plural(r.Checkpoints, "signed checkpoint"), r.File)
	return nil
}

// runBackup writes a consistent copy of the event store while serve and
// submit run, checks the copy, and names its last event (backup.Backup).
func runBackup(e *env, args []string) error {
	fs := e.flags("backup")
	out := fs.String("out", "", "the backup file to write (must not exist)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError{"--out is required"}
	}
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	local, ok := store.(*embedded.Store)
	if !ok {
		return failed{"backup copies the embedded store; back up an EventStoreDB/KurrentDB server with its own tools (docs/deploy.md)"}
	}
	r, err := backup.Backup(e.ctx, local, e.global.data, *out, e.log)
	if err != nil {
		return err
	}
	return e.printBackup("backup", r)
}

// runRestore fills an empty data directory from a backup (backup.Restore).
func runRestore(e *env, args []string) error {
	fs := e.flags("restore")
	from := fs.String("from", "", "the backup file (from ledger backup)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *from == "" {
		return usageError{"--from is required"}
	}
	if e.global.store != "" && e.global.store != "embedded" {
		return failed{"restore fills an embedded store"}
	}
	if e.requireLedger() == nil {
		return failed{fmt.Sprintf("%s holds a ledger already: restore fills an empty data directory", e.global.data)}
	}
	models := e.models()
	defer models.Close()
	r, err := backup.Restore(e.ctx, e.global.data, *from, models, e.log, func(msg string) { fmt.Fprintln(e.stderr, "ledger: "+msg) })
	if err != nil {
		return err
	}
	return e.printBackup("restored", r)
}
