// Package backup writes a consistent copy of the embedded event store with
// the signed checkpoints beside it, and fills an empty data directory from
// one: the log copied and verified, the read models and the notary's tree
// built from it, the checkpoints kept once checked against it.
package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/personal"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/projections"
)

// Report is what backup and restore print (with --json, as is).
type Report struct {
	File string `json:"file"`
	// Checkpoints is how many signed checkpoints the backup carries (in
	// FILE.checkpoints) or the restore kept.
	Checkpoints int    `json:"checkpoints"`
	Events      uint64 `json:"events"`
	Streams     int    `json:"streams"`
	Head        uint64 `json:"head_position"`
	HeadHash    string `json:"head_hash"`
	// Keys is the key store's part (docs/privacy.md): the file a backup
	// wrote it to ("" when the directory has none), or the one a restore
	// read (then KeysKept and KeysRefused: the keys of people the log says
	// were erased are not restored).
	Keys        string `json:"keys,omitempty"`
	KeysKept    int    `json:"keys_kept,omitempty"`
	KeysRefused int    `json:"keys_refused,omitempty"`
}

// KeysFile is where a backup keeps the key store: beside the copy of the
// log, a separate part, to restore or withhold.
func KeysFile(backup string) string { return backup + ".keys" }

// Backup writes a consistent copy of store to out (which must not exist)
// while the ledger runs, checks the copy's every hash chain, and writes the
// signed checkpoints of the data directory dir beside it.
func Backup(ctx context.Context, store *embedded.Store, dir, out string, log *slog.Logger) (Report, error) {
	if err := store.Backup(ctx, out); err != nil {
		return Report{}, err
	}
	copied, err := embedded.Open(ctx, out, embedded.Options{Logger: log})
	if err != nil {
		return Report{}, fmt.Errorf("the backup %s does not open: %w", out, err)
	}
	defer copied.Close()
	r, err := describe(ctx, copied, out)
	if err != nil {
		return Report{}, fmt.Errorf("the backup %s does not verify: %w", out, err)
	}
	if r.Checkpoints, err = backupCheckpoints(ctx, dir, out); err != nil {
		return Report{}, err
	}
	keys := personal.At(dir)
	defer keys.Close()
	if wrote, err := keys.Backup(KeysFile(out)); err != nil {
		return Report{}, err
	} else if wrote {
		r.Keys = KeysFile(out)
	}
	return r, nil
}

// Restore fills the empty data directory dir from the backup from: it
// copies the file, verifies every hash chain, restores the key store from
// keys ("" to withhold it) but for the keys the log says were destroyed,
// builds the read models (models) and the notary's tree from the log, and
// keeps the checkpoints the backup carries once checked against that tree.
// warn says what a person should know (no checkpoints or keys beside the
// backup, keys refused).
func Restore(ctx context.Context, dir, from, keys string, models *projections.Set, log *slog.Logger, warn func(string)) (Report, error) {
	src, err := os.Open(from)
	if err != nil {
		return Report{}, err
	}
	defer src.Close()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Report{}, err
	}
	final := filepath.Join(dir, "events.db")
	tmp := final + ".restoring"
	if err := copyFile(tmp, src); err != nil {
		os.Remove(tmp)
		return Report{}, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return Report{}, err
	}
	store, err := embedded.Open(ctx, final, embedded.Options{Logger: log})
	if err != nil {
		return Report{}, fmt.Errorf("%s is not a ledger backup: %w", from, err)
	}
	defer store.Close()
	r, err := describe(ctx, store, final)
	if err != nil {
		return Report{}, fmt.Errorf("the restored ledger does not verify: %w", err)
	}
	if err := restoreKeys(ctx, store, dir, keys, &r, warn); err != nil {
		return Report{}, err
	}
	if _, err := models.Rebuild(ctx, store, projections.BuildOptions{}); err != nil {
		return Report{}, err
	}
	tree, err := notary.Open(ctx, dir)
	if err != nil {
		return Report{}, err
	}
	defer tree.Close()
	if _, err := tree.CatchUp(ctx, store, notary.Hooks{}); err != nil {
		return Report{}, err
	}
	if r.Checkpoints, err = restoreCheckpoints(ctx, tree, from, warn); err != nil {
		return Report{}, err
	}
	return r, nil
}

// restoreKeys restores the key store from the file keys, leaving out the
// keys of every erasure the restored log records: a key store backed up
// before an erasure does not bring the doctor's data back.
func restoreKeys(ctx context.Context, store eventstore.Store, dir, keys string, r *Report, warn func(string)) error {
	if keys == "" {
		warn("the key store is withheld: the doctors' personal data the log seals read [clé absente] until a key store is restored")
		return nil
	}
	if _, err := os.Stat(keys); errors.Is(err, os.ErrNotExist) {
		warn(fmt.Sprintf("%s is not beside the backup: no key store restored (sealed personal data read [clé absente])", keys))
		return nil
	}
	erased, err := personal.ErasedKeys(ctx, store)
	if err != nil {
		return err
	}
	r.Keys = keys
	r.KeysKept, r.KeysRefused, err = personal.Restore(dir, keys, func(id string) bool { return erased[id] })
	if err != nil {
		return err
	}
	if r.KeysRefused > 0 {
		warn(fmt.Sprintf("%d keys of the key store are of people whose data the log says were erased: not restored", r.KeysRefused))
	}
	return nil
}

// describe verifies every hash chain of the store and names its last event.
func describe(ctx context.Context, store eventstore.Store, file string) (Report, error) {
	rep, err := eventstore.Verify(ctx, store)
	if err != nil {
		return Report{}, err
	}
	r := Report{File: file, Events: rep.Events, Streams: rep.Streams, Head: uint64(rep.Head)}
	if rep.Head > 0 {
		last, err := store.ReadAll(ctx, rep.Head-1, 1)
		if err != nil || len(last) != 1 {
			return r, errors.Join(err, errors.New("the last event cannot be read"))
		}
		r.HeadHash = last[0].Hash.String()
	}
	return r, nil
}

// checkpointsFile is where a backup keeps the signed checkpoints: beside
// the copy of the log, one JSON object a line, private like the backup.
func checkpointsFile(backup string) string { return backup + ".checkpoints" }

// backupCheckpoints writes the signed checkpoints the data directory keeps
// beside the backup: a restore keeps them, so that the signed history
// survives the log's.
func backupCheckpoints(ctx context.Context, dir, out string) (int, error) {
	if !notary.Exists(dir) {
		return 0, nil
	}
	tree, err := notary.Open(ctx, dir)
	if err != nil {
		return 0, err
	}
	defer tree.Close()
	cps, err := tree.Checkpoints(ctx)
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
func restoreCheckpoints(ctx context.Context, tree *notary.Tree, from string, warn func(string)) (int, error) {
	raw, err := os.ReadFile(checkpointsFile(from))
	if errors.Is(err, os.ErrNotExist) {
		warn(fmt.Sprintf("%s is not beside the backup: no signed checkpoint restored", checkpointsFile(from)))
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
	n, err := tree.Import(ctx, cps)
	if err != nil {
		return 0, fmt.Errorf("the backup's checkpoints do not match its log: %v", err)
	}
	return n, nil
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
