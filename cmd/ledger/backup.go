package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/projections"
)

// backupReport is what backup and restore print (with --json, as is).
type backupReport struct {
	File string `json:"file"`
	// Checkpoints is how many signed checkpoints the backup carries (in
	// FILE.checkpoints) or the restore kept.
	Checkpoints int    `json:"checkpoints"`
	Events      uint64 `json:"events"`
	Streams     int    `json:"streams"`
	Head        uint64 `json:"head_position"`
	HeadHash    string `json:"head_hash"`
}

// describe verifies every hash chain of the store and names its last event.
func describe(e *env, store eventstore.Store, file string) (backupReport, error) {
	rep, err := eventstore.Verify(e.ctx, store)
	if err != nil {
		return backupReport{}, err
	}
	r := backupReport{File: file, Events: rep.Events, Streams: rep.Streams, Head: uint64(rep.Head)}
	if rep.Head > 0 {
		last, err := store.ReadAll(e.ctx, rep.Head-1, 1)
		if err != nil || len(last) != 1 {
			return r, errors.Join(err, errors.New("the last event cannot be read"))
		}
		r.HeadHash = last[0].Hash.String()
	}
	return r, nil
}

func (e *env) printBackup(verb string, r backupReport) error {
	if e.global.json {
		return e.printJSON(r)
	}
	fmt.Fprintf(e.stdout, "%s: %s in %s, head position %d, head hash %s, %s (%s)\n", verb, textout.Plural(int(r.Events), "event"), textout.Plural(r.Streams, "stream"),
		r.Head, r.HeadHash, textout.Plural(r.Checkpoints, "signed checkpoint"), r.File)
	return nil
}

// runBackup writes a consistent copy of the event store while serve and
// submit run, checks the copy, and names its last event.
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
	if err := local.Backup(e.ctx, *out); err != nil {
		return err
	}
	copied, err := embedded.Open(e.ctx, *out, embedded.Options{Logger: e.log})
	if err != nil {
		return fmt.Errorf("the backup %s does not open: %w", *out, err)
	}
	defer copied.Close()
	r, err := describe(e, copied, *out)
	if err != nil {
		return fmt.Errorf("the backup %s does not verify: %w", *out, err)
	}
	if r.Checkpoints, err = backupCheckpoints(e, *out); err != nil {
		return err
	}
	return e.printBackup("backup", r)
}

// checkpointsFile is where a backup keeps the signed checkpoints: beside
// the copy of the log, one JSON object a line, private like the backup.
func checkpointsFile(backup string) string { return backup + ".checkpoints" }

// backupCheckpoints writes the signed checkpoints the data directory keeps
// beside the backup: a restore keeps them, so that the signed history
// survives the log's.
func backupCheckpoints(e *env, out string) (int, error) {
	if !e.hasTree() {
		return 0, nil
	}
	tree, err := e.openTree()
	if err != nil {
		return 0, err
	}
	defer tree.Close()
	cps, err := tree.Checkpoints(e.ctx)
	if err != nil {
		return 0, err
	}
	var b []byte
	for _, c := range cps {
		line, err := json.Marshal(c)
		if err != nil {
			return 0, err
		}
		b = append(append(b, line...), '\n')
	}
	if err := copyFile(checkpointsFile(out), bytes.NewReader(b)); err != nil {
		return 0, fmt.Errorf("the backup's checkpoints: %w", err)
	}
	return len(cps), nil
}

// restoreCheckpoints keeps the checkpoints a backup carries, each checked
// against the restored log's tree.
func restoreCheckpoints(e *env, tree *notary.Tree, from string) (int, error) {
	raw, err := os.ReadFile(checkpointsFile(from))
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(e.stderr, "ledger: %s is not beside the backup: no signed checkpoint restored\n", checkpointsFile(from))
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var cps []notary.Stored
	for i, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var c notary.Stored
		if err := jsonv2.Unmarshal(line, &c, jsonv2.RejectUnknownMembers(true)); err != nil {
			return 0, fmt.Errorf("%s line %d: %v", checkpointsFile(from), i+1, err)
		}
		cps = append(cps, c)
	}
	n, err := tree.Import(e.ctx, cps)
	if err != nil {
		return 0, failed{fmt.Sprintf("the backup's checkpoints do not match its log: %v", err)}
	}
	return n, nil
}

// runRestore fills an empty data directory from a backup: it copies the
// file, verifies every hash chain, and builds the read models and the
// notary's tree from the log.
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
	src, err := os.Open(*from)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := os.MkdirAll(e.global.data, 0o700); err != nil {
		return err
	}
	final := filepath.Join(e.global.data, "events.db")
	tmp := final + ".restoring"
	if err := copyFile(tmp, src); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	store, err := embedded.Open(e.ctx, final, embedded.Options{Logger: e.log})
	if err != nil {
		return fmt.Errorf("%s is not a ledger backup: %w", *from, err)
	}
	defer store.Close()
	r, err := describe(e, store, final)
	if err != nil {
		return fmt.Errorf("the restored ledger does not verify: %w", err)
	}
	models := e.models()
	defer models.Close()
	if _, err := models.Rebuild(e.ctx, store, projections.BuildOptions{}); err != nil {
		return err
	}
	tree, err := e.openTree()
	if err != nil {
		return err
	}
	defer tree.Close()
	if _, err := tree.CatchUp(e.ctx, store, notary.Hooks{}); err != nil {
		return err
	}
	if r.Checkpoints, err = restoreCheckpoints(e, tree, *from); err != nil {
		return err
	}
	return e.printBackup("restored", r)
}

// copyFile copies src to a new file at path and syncs it.
func copyFile(path string, src io.Reader) error {
	dst, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return errors.Join(dst.Sync(), dst.Close())
}
