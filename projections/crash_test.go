package projections

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/benchledger"
	"github.com/cptsledger/ledger/internal/gen"
)

// The child process of the crash tests: LEDGER_TEST_REBUILD=<dir>:<when>
// rebuilds the read models of dir and, at <when> ("filling": once a page
// is in; "built": once the new file is complete, before the switch), writes
// dir/child.ready and waits to be killed; otherwise it writes it when the
// rebuild is done, and exits. It is this test
// binary run again (see TestMain).
const childEnv = "LEDGER_TEST_REBUILD"

func rebuildChild(spec string) int {
	i := strings.LastIndexByte(spec, ':')
	dir, when := spec[:max(i, 0)], spec[i+1:]
	store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ready := func() {
		os.WriteFile(filepath.Join(dir, "child.ready"), nil, 0o644)
		select {} // until killed
	}
	opts := BuildOptions{FlushEvery: 64}
	switch when {
	case "filling":
		opts.OnProgress = func(p Progress) {
			if p.Applied > 0 {
				ready()
			}
		}
	case "built":
		opts.AfterBuild = func(string) error { ready(); return nil }
	}
	if _, err := NewSet(dir, nil).Rebuild(context.Background(), store, opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.WriteFile(filepath.Join(dir, "child.ready"), nil, 0o644)
	return 0
}

// startChild starts the rebuild child and waits until it is at when;
// "running" returns at once (the caller waits for the child).
func startChild(t *testing.T, dir, when string) *exec.Cmd {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL: not on windows")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir+":"+when)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if when == "running" {
		t.Cleanup(func() { cmd.Process.Kill() })
		return cmd
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(dir, "child.ready")); err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the rebuild child exited before %s: %v", when, err)
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("the rebuild child never reached %s", when)
		case <-time.After(10 * time.Millisecond): // poll the condition
		}
	}
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	return cmd
}

// A rebuild killed (SIGKILL) while it fills the new file, or after the file
// is complete but before the switch, leaves the old file in service,
// unchanged; the next rebuild removes what it left and succeeds.
func TestRebuildKilledKeepsTheOldFile(t *testing.T) {
	for _, when := range []string{"filling", "built"} {
		t.Run(when, func(t *testing.T) {
			l := newLedger(t)
			lines, _ := gen.National(gen.Options{Seed: 31, Contracts: 40, Today: domain.MustDate("2025-01-01"), DecideMonthly: true})
			l.submit(t, lines, 0, nil)
			old := l.current(t)
			before := dump(t, old)
			target, _ := os.Readlink(l.set.Link())
			child := startChild(t, l.dir, when)
			if err := child.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			if gens := l.set.generations(); len(gens) != 2 {
				t.Fatalf("the killed rebuild left %v: the test did not kill it while it had a file", gens)
			}
			if now, _ := os.Readlink(l.set.Link()); now != target {
				t.Fatalf("the link moved from %s to %s", target, now)
			}
			l.set.Close()
			l.set = NewSet(l.dir, nil)
			again := l.current(t)
			if again.Path() != old.Path() {
				t.Fatalf("after the crash the current file is %s, was %s", again.Path(), old.Path())
			}
			compareDumps(t, before, dump(t, again), "the old file after the killed rebuild")
			if _, err := l.set.Rebuild(context.Background(), l.store, BuildOptions{}); err != nil {
				t.Fatal(err)
			}
			if gens := l.set.generations(); len(gens) != 2 || gens[0] != old.Path() {
				t.Fatalf("generations after the next rebuild: %v, want the old one and a new one", gens)
			}
			compareDumps(t, before, dump(t, l.current(t)), "the next rebuild")
		})
	}
}

// While another process rebuilds and switches, a reader here answers
// from the old read models, then from the new ones — never from an empty
// or partial file — and never goes back.
func TestReaderInAnotherProcessDuringARebuild(t *testing.T) {
	l := newLedger(t)
	lines, _ := gen.National(gen.Options{Seed: 33, Contracts: 60, Today: domain.MustDate("2025-01-01"), DecideMonthly: true})
	l.submit(t, lines[:len(lines)/2], 0, nil)
	before := dump(t, l.current(t))
	l.submit(t, lines[len(lines)/2:], 0, nil) // the current file does not follow: only a rebuild brings these
	full := l.plainFile(t, "full.db")
	if _, err := NewRunner(l.store, full, Options{}).CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := dump(t, full)
	child := startChild(t, l.dir, "running")
	reads, sawNew := 0, false
	for done := false; !done; {
		_, err := os.Stat(filepath.Join(l.dir, "child.ready"))
		done = err == nil // one more read after the child finished
		db, release, err := l.set.Acquire(context.Background(), l.store, BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := dump(t, db)
		release()
		reads++
		switch {
		case equalDumps(got, after):
			sawNew = true
		case sawNew:
			t.Fatalf("read %d went back to the old read models", reads)
		case !equalDumps(got, before):
			t.Fatalf("read %d saw read models neither old nor new: %d contracts, %d payments", reads, len(got["contracts"]), len(got["payments"]))
		}
	}
	if !sawNew {
		t.Fatal("the reader never saw the new read models")
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("the rebuild child: %v", err)
	}
	t.Logf("%d reads during the rebuild", reads)
}

func equalDumps(a, b map[string][]string) bool {
	for _, table := range append(readModelTables(), "checkpoints") {
		if !slices.Equal(a[table], b[table]) {
			return false
		}
	}
	return true
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(rebuildChild(spec))
	}
	code := m.Run()
	benchledger.Remove()
	os.Exit(code)
}
