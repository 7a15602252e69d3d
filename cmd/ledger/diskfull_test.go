//go:build linux

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/gen"
	"github.com/cptsledger/ledger/internal/testwait"
	"github.com/cptsledger/ledger/relay"
)

// mountSmall mounts a tmpfs of size bytes at a new directory, unmounted at
// the end of the test; the test is skipped, saying so, where it cannot be
// (not root).
func mountSmall(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a real full disk needs a small filesystem of its own: mounting a tmpfs needs root (CI runs as root); skipped")
	}
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(size)); err != nil {
		t.Skipf("mounting a tmpfs here failed (%v); skipped", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fill writes a file that leaves about leave bytes free on the filesystem
// of dir, and returns its path.
func fill(t *testing.T, dir string, leave int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for written := int64(0); written < free-leave; written += int64(len(chunk)) {
		if _, err := f.Write(chunk); err != nil {
			break // full already
		}
	}
	return path
}

// The red team's eleventh finding: on a real full disk the embedded
// JetStream disabled itself, and nothing but a restart of serve enabled it
// again; the relay waited for acknowledgements for ever. Here serve starts
// on a ledger whose events are not on NATS yet, with a few hundred
// kilobytes free: JetStream runs out of space and disables itself. Once
// space is given back, serve enables it again by itself, the relay, the
// notary's follower and the projections catch up, and /readyz answers 200
// — no restart.
func TestServeSurvivesARealFullDisk(t *testing.T) {
	base := mountSmall(t, 48<<20)
	dir := filepath.Join(base, "data")
	lines, _ := gen.National(gen.Options{Seed: 11, Contracts: 150, Today: domain.MustDate("2024-06-30"), DecideMonthly: true})
	file := filepath.Join(t.TempDir(), "history.jsonl")
	writeLines(t, file, lines)
	mustLedger(t, "--data", dir, "submit", "--file", file)
	var head struct {
		Head int64 `json:"head"`
	}
	if err := json.Unmarshal([]byte(mustLedger(t, "--json", "--data", dir, "verify", "--log-only")), &head); err != nil || head.Head < 1500 {
		t.Fatalf("the history: head %d %v", head.Head, err)
	}
	mustLedger(t, "--data", dir, "totals") // the read models, built before the disk fills
	filler := fill(t, base, 1<<20)
	s := startServe(t, dir, "--max-relay-lag", "2s")
	testwait.Until(t, 60*time.Second, "the relay stuck on the full disk, /readyz 503", func() bool {
		code, _ := get(t, "", s.http+"/readyz")
		log := s.stderr.String()
		stuck := strings.Contains(log, "no acknowledgement for position") || strings.Contains(log, "nats: JetStream is disabled")
		return stuck && code == http.StatusServiceUnavailable
	})
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatInt(head.Head, 10)
	testwait.Until(t, 120*time.Second, "every event on NATS and /readyz 200, without a restart", func() bool {
		stream, err := s.js.Stream(context.Background(), relay.StreamName)
		if err != nil {
			return false
		}
		msg, err := stream.GetLastMsgForSubject(context.Background(), ">")
		if err != nil || msg.Header.Get(relay.HeaderPosition) != want {
			return false
		}
		code, _ := get(t, "", s.http+"/readyz")
		return code == http.StatusOK
	})
	if !strings.Contains(s.stderr.String(), "nats: JetStream enabled again") {
		t.Fatalf("serve did not say it enabled JetStream again:\n%s", s.stderr.String())
	}
	// The notary's follower caught up too: its tree holds every event (a
	// leaf is 24 bytes of notary.leaves).
	testwait.Until(t, 60*time.Second, "the notary's follower holding every event", func() bool {
		st, err := os.Stat(filepath.Join(dir, "notary.leaves"))
		return err == nil && st.Size() >= head.Head*24
	})
}
