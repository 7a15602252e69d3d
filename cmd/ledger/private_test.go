//go:build unix

package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cptsledger/ledger/internal/testwait"
)

// Under umask 022, every directory the ledger makes is 0700 and every file
// 0600: events, read models, the notary's tree, the relay's state, the
// embedded NATS store, the tokens, the chain's verdict, a backup; a data
// directory found readable by others is reported once.
func TestTheDataDirectoryIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	bin := ledgerBinary(t)
	base := t.TempDir()
	os.Chmod(base, 0o755)
	dir := filepath.Join(base, "data")
	ledger(t, bin, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	ledger(t, bin, "--data", dir, "balance", "--contract", t2ID)
	ledger(t, bin, "--data", dir, "keygen", "--name", "private-test", "--out", filepath.Join(base, "signer.key"))
	ledger(t, bin, "--data", dir, "checkpoint", "--signing-key", filepath.Join(base, "signer.key"))
	ledger(t, bin, "--data", dir, "token", "create", "--name", "audrey", "--role", "auditor")
	ledger(t, bin, "--data", dir, "verify")
	cmd, url := startServeProcess(t, bin, dir)
	testwait.Until(t, 30*time.Second, "the relay's state and the NATS store", func() bool {
		code, _ := get(t, "", url+"/readyz")
		_, err := os.Stat(filepath.Join(dir, "nats"))
		return code == 200 && err == nil
	})
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	backup := filepath.Join(base, "backup.ledger")
	ledger(t, bin, "--data", dir, "backup", "--out", backup)
	var seen int
	check := func(path string, d fs.DirEntry) {
		info, err := os.Lstat(path)
		if err != nil || info.Mode()&fs.ModeSymlink != 0 {
			return
		}
		want := fs.FileMode(0o600)
		if info.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %#o, want %#o", path, info.Mode().Perm(), want)
		}
		seen++
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil {
			check(path, d)
		}
		return nil
	})
	check(backup, nil)
	if seen < 10 {
		t.Fatalf("only %d files and directories seen", seen)
	}
	for _, name := range []string{"events.db", "chain-status.json", "relay.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A directory made readable by hand is reported, once.
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Join(dir, "events.db"), 0o644)
	out, err := exec.Command(bin, "--data", dir, "payments", "--contract", t2ID).CombinedOutput()
	if err != nil || strings.Count(string(out), "can be read by other users") != 2 || !strings.Contains(string(out), "chmod 700 "+dir) {
		t.Fatalf("a readable data directory: %v\n%s", err, out)
	}
}
