package notary_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/internal/testwait"
	"github.com/cptsledger/ledger/notary"
)

const childEnv = "LEDGER_NOTARY_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild catches the tree up in batches of 50. With LEDGER_NOTARY_STOP
// set to n, it stops after writing the n-th batch, before committing it,
// says so in a file and waits to be killed.
func crashChild(dir string) {
	ctx := context.Background()
	s, err := openStoreErr(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	tree, err := notary.Open(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	stop, _ := strconv.Atoi(os.Getenv("LEDGER_NOTARY_STOP"))
	batches := 0
	_, err = tree.CatchUp(ctx, s, notary.Hooks{Batch: 50, AfterWrite: func(size int64) error {
		if batches++; batches == stop {
			os.WriteFile(filepath.Join(dir, "written"), []byte(strconv.FormatInt(size, 10)), 0o644)
			select {} // killed here, between writing and committing
		}
		return nil
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Exit(0)
}

// The follower killed with SIGKILL between writing a batch and committing
// it, or at any moment, resumes with the correct hashes: those tlog
// computes from the log.
func TestFollowerKilledMidBatchResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rng := testwait.Rand(t)
	for round := 0; round < 4; round++ {
		dir := t.TempDir()
		s := openStore(t, dir)
		appendEvents(t, s, 0, 1200)
		cmd := exec.Command(self, "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		if round < 2 {
			cmd.Env = append(cmd.Env, fmt.Sprintf("LEDGER_NOTARY_STOP=%d", 3+round*7))
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if round < 2 {
			t.Cleanup(func() { cmd.Process.Kill() }) // if the wait below fails
			testwait.Until(t, 30*time.Second, "the child to reach the batch to stop at", func() bool {
				_, err := os.Stat(filepath.Join(dir, "written"))
				return err == nil
			})
		} else {
			// A kill at a random moment (the seed logged above replays it).
			time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		werr := cmd.Wait()
		var exit *exec.ExitError
		if werr != nil && !errors.As(werr, &exit) {
			t.Fatal(werr)
		}
		tree := openTree(t, dir)
		committed := tree.Size()
		if round < 2 && committed != int64(50*(2+round*7)) {
			t.Fatalf("round %d: %d leaves committed after a kill between the write and the commit of batch %d", round, committed, 3+round*7)
		}
		if _, err := tree.CatchUp(context.Background(), s, notary.Hooks{Batch: 70}); err != nil {
			t.Fatalf("round %d: resume: %v", round, err)
		}
		ref := referenceTree(t, s)
		got, err := tree.ReadHashes(seq(len(ref)))
		if err != nil || tree.Size() != 1200 {
			t.Fatalf("round %d: %d leaves (%v)", round, tree.Size(), err)
		}
		for i := range ref {
			if got[i] != ref[i] {
				t.Fatalf("round %d: stored hash %d wrong after the resume (killed with %d committed)", round, i, committed)
			}
		}
		if st, _ := os.Stat(filepath.Join(dir, notary.HashesFile)); st.Size() != tlog.StoredHashCount(1200)*tlog.HashSize {
			t.Fatalf("round %d: the hashes file holds %d bytes past the tree", round, st.Size())
		}
	}
}
