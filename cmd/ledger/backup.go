package main

import (
	"fmt"

	"github.com/cptsledger/ledger/internal/backup"
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
)

func printBackup(e *cli.Env, verb string, r backup.Report) error {
	if e.Global.JSON {
		return e.PrintJSON(r)
	}
	fmt.Fprintf(e.Stdout, "%s: %s in %s, head position %d, head hash %s, %s (%s)\n", verb, textout.Plural(int(r.Events), "event"), textout.Plural(r.Streams, "stream"),
		r.Head, r.HeadHash, textout.Plural(r.Checkpoints, "signed checkpoint"), r.File)
	switch {
	case r.Keys != "" && verb == "backup":
		fmt.Fprintf(e.Stdout, "key store: %s, a separate part (restore it with the log, or withhold it)\n", r.Keys)
	case r.Keys != "":
		fmt.Fprintf(e.Stdout, "key store: %s, %d kept, %d refused (of people the log says were erased)\n", r.Keys, r.KeysKept, r.KeysRefused)
	}
	return nil
}

// runBackup writes a consistent copy of the event store while serve and
// submit run, checks the copy, and names its last event (backup.Backup).
func runBackup(e *cli.Env, args []string) error {
	fs := e.Flags("backup")
	out := fs.String("out", "", "the backup file to write (must not exist)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return cli.Usage("--out is required")
	}
	local, err := e.OpenEmbedded("backup copies the embedded store; back up an EventStoreDB/KurrentDB server with its own tools (docs/deploy.md)")
	if err != nil {
		return err
	}
	defer local.Close()
	r, err := backup.Backup(e.Ctx, local, e.Global.Data, *out, e.Log)
	if err != nil {
		return err
	}
	return printBackup(e, "backup", r)
}

// runRestore fills an empty data directory from a backup (backup.Restore).
func runRestore(e *cli.Env, args []string) error {
	fs := e.Flags("restore")
	from := fs.String("from", "", "the backup file (from ledger backup)")
	keys := fs.String("keys", "", "the key store's backup (default FROM.keys); keys of people the log says were erased are refused")
	withhold := fs.Bool("without-keys", false, "restore no key store: the sealed personal data read [clé absente]")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	if *from == "" {
		return cli.Usage("--from is required")
	}
	if e.Global.Store != "" && e.Global.Store != "embedded" {
		return cli.Fail("restore fills an embedded store")
	}
	if e.RequireLedger() == nil {
		return cli.Fail(fmt.Sprintf("%s holds a ledger already: restore fills an empty data directory", e.Global.Data))
	}
	models := e.Models()
	defer models.Close()
	switch {
	case *withhold:
		*keys = ""
	case *keys == "":
		*keys = backup.KeysFile(*from)
	}
	r, err := backup.Restore(e.Ctx, e.Global.Data, *from, *keys, models, e.Log, func(msg string) { fmt.Fprintln(e.Stderr, "ledger: "+msg) })
	if err != nil {
		return err
	}
	return printBackup(e, "restored", r)
}
