package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/natsserver"
	"github.com/cptsledger/ledger/internal/testwait"
	"github.com/cptsledger/ledger/relay"
	"github.com/cptsledger/ledger/server"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// served is a `ledger serve` running in-process, with a NATS connection
// to its embedded server.
type served struct {
	addr   string
	http   string // the HTTP API's URL
	stderr *syncBuffer
	js     jetstream.JetStream
}

// startServe runs serve on dir in-process and returns once its stream
// exists on its embedded NATS server (a condition, not a log line). The
// test's cleanup stops it and checks it exited 0.
func startServe(t *testing.T, dir string, args ...string) *served {
	t.Helper()
	// The embedded server picks its own free port (no free-port-then-bind
	// race with the other tests) and serve writes its URL in the data
	// directory, where the test reads it.
	s := &served{}
	var exited func() (int, bool)
	s.stderr, exited = serveInProcess(t, dir, append([]string{"--nats-listen", "127.0.0.1:0"}, args...)...)
	testwait.Until(t, 30*time.Second, "serve's NATS server and stream", func() bool {
		if code, ok := exited(); ok {
			t.Fatalf("serve exited %d: %s", code, s.stderr.String())
		}
		if s.addr == "" {
			url, err := os.ReadFile(filepath.Join(dir, server.NATSAddrFile))
			if err != nil {
				return false
			}
			s.addr = strings.TrimPrefix(strings.TrimSpace(string(url)), "nats://")
		}
		if s.js == nil {
			// The test looks on as serve does: with its publisher's
			// credentials, made at its start.
			seed, err := nats.NkeyOptionFromSeed(natsserver.SeedFile(dir, natsserver.RolePublisher))
			if err != nil {
				return false
			}
			nc, err := nats.Connect("nats://"+s.addr, nats.MaxReconnects(-1), seed)
			if err != nil {
				return false
			}
			t.Cleanup(nc.Close)
			s.js, _ = jetstream.New(nc)
		}
		if _, err := s.js.Stream(context.Background(), relay.StreamName); err != nil {
			return false
		}
		url, err := os.ReadFile(filepath.Join(dir, server.AddrFile))
		s.http = strings.TrimSpace(string(url))
		return err == nil
	})
	return s
}

// serveInProcess runs `ledger serve` on dir (initialised if need be) with
// an HTTP API on a free port and args, and returns its stderr and whether
// it exited (with its code). The test's cleanup stops it and checks it
// exited 0.
func serveInProcess(t *testing.T, dir string, args ...string) (*syncBuffer, func() (int, bool)) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "events.db")); err != nil {
		mustLedger(t, "--data", dir, "init")
	}
	stderr := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"--data", dir, "serve", "--http", "127.0.0.1:0"}, args...), nil, &bytes.Buffer{}, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, stderr.String())
		}
	})
	return stderr, func() (int, bool) {
		select {
		case code := <-done:
			done <- code
			return code, true
		default:
			return 0, false
		}
	}
}

// `ledger serve` with its embedded NATS server publishes what `ledger
// submit` appends while it runs; `ledger tail` reads it back in order.
func TestServeAndTail(t *testing.T) {
	dir := t.TempDir()
	startServe(t, dir)
	example, err := os.ReadFile("../../examples/t2-contract.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--data", dir, "submit", "--file", "-"}, bytes.NewReader(example), &out, &errb); code != 0 {
		t.Fatalf("submit: %d %s", code, errb.String())
	}
	var tailOut, tailErr bytes.Buffer
	tailCtx, tailCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer tailCancel()
	// Without --nats-url nor credentials: the serve of the data directory,
	// with its subscriber's credentials.
	if code := run(tailCtx, []string{"--data", dir, "tail", "--from-start", "--limit", "19"}, nil, &tailOut, &tailErr); code != 0 {
		t.Fatalf("tail: %d %s", code, tailErr.String())
	}
	lines := strings.Split(strings.TrimSpace(tailOut.String()), "\n")
	if len(lines) != 19 {
		t.Fatalf("tail printed %d lines, want 19:\n%s", len(lines), tailOut.String())
	}
	for i, line := range lines {
		var env eventstore.Envelope
		if err := json.Unmarshal([]byte(line), &env); err != nil {
			t.Fatal(err)
		}
		if env.Position != eventstore.Position(i+1) || env.Stream != "cpts-0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80" {
			t.Fatalf("line %d: position %d stream %s", i+1, env.Position, env.Stream)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nats")); err != nil {
		t.Fatalf("the embedded server keeps no JetStream store under the data directory: %v", err)
	}
}

// With a signer key, serve signs a checkpoint when the log grows and
// publishes it on ledger.checkpoints, in a stream that keeps everything;
// an auditor verifies the log against what was published.
func TestServePublishesCheckpoints(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "data")
	key, pub := filepath.Join(base, "signer.key"), filepath.Join(base, "verifier.pub")
	if err := os.WriteFile(pub, []byte(mustLedger(t, "keygen", "--name", "serve-test", "--out", key)), 0o644); err != nil {
		t.Fatal(err)
	}
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	s := startServe(t, dir, "--signing-key", key, "--checkpoint-every", "100ms")
	published := func(size string) []string {
		var notes []string
		testwait.Until(t, 30*time.Second, "the checkpoint of "+size+" events on ledger.checkpoints", func() bool {
			stream, err := s.js.Stream(context.Background(), relay.CheckpointStreamName)
			if err != nil {
				return false
			}
			msg, err := stream.GetLastMsgForSubject(context.Background(), relay.CheckpointSubject)
			if err != nil || msg.Header.Get(relay.HeaderTreeSize) != size {
				return false
			}
			notes = notes[:0]
			for seq := uint64(1); seq <= msg.Sequence; seq++ {
				m, err := stream.GetMsg(context.Background(), seq)
				if err != nil {
					return false
				}
				notes = append(notes, string(m.Data))
			}
			return true
		})
		return notes
	}
	if first := published("19"); len(first) != 1 {
		t.Fatalf("published %q", first)
	}
	// The next checkpoint comes once the log grows.
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/aid-contract.jsonl")
	notes := published("28")
	if len(notes) < 2 || !strings.Contains(notes[0], "\n19\n") {
		t.Fatalf("published %d checkpoints: %q", len(notes), notes)
	}
	args := []string{"--data", dir, "verify", "--verifier-key", pub}
	for i, n := range notes {
		f := filepath.Join(base, "published-"+strconv.Itoa(i))
		os.WriteFile(f, []byte(n), 0o644)
		args = append(args, "--checkpoint", f)
	}
	if out := mustLedger(t, args...); !strings.Contains(out, strconv.Itoa(len(notes))+" signed checkpoints match the log as stored") {
		t.Fatalf("verify against the published checkpoints: %s", out)
	}
	info, err := s.js.Stream(context.Background(), relay.CheckpointStreamName)
	if err != nil {
		t.Fatal(err)
	}
	if cfg := info.CachedInfo().Config; cfg.MaxAge != 0 || cfg.MaxMsgs != -1 || cfg.MaxBytes != -1 || cfg.Storage != jetstream.FileStorage {
		t.Fatalf("the checkpoints' stream does not keep everything: %+v", cfg)
	}
}

// checkpointOf reads the payments read model's checkpoint in the file the
// data directory's link points to now.
func checkpointOf(t *testing.T, dir string) (string, int64) {
	t.Helper()
	target, err := filepath.EvalSymlinks(filepath.Join(dir, "projections.db"))
	if err != nil {
		return "", -1
	}
	db, err := sql.Open("sqlite", "file:"+target+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pos int64
	if err := db.QueryRow(`SELECT position FROM checkpoints WHERE projection = 'payments'`).Scan(&pos); err != nil {
		return target, -1
	}
	return target, pos
}

// `ledger rebuild`, run beside serve, switches the read models to a new
// file; serve moves to it without a restart and keeps it up to date with
// what is submitted next — no query needed to bring it up.
func TestServeFollowsARebuild(t *testing.T) {
	dir := t.TempDir()
	startServe(t, dir)
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	testwait.Until(t, 30*time.Second, "serve's read models at position 19", func() bool { _, pos := checkpointOf(t, dir); return pos == 19 })
	before, _ := checkpointOf(t, dir)
	mustLedger(t, "--data", dir, "rebuild")
	after, pos := checkpointOf(t, dir)
	if after == before || pos != 19 {
		t.Fatalf("after the rebuild the link points to %s at %d (was %s)", after, pos, before)
	}
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/aid-contract.jsonl")
	testwait.Until(t, 30*time.Second, "serve following the rebuilt file", func() bool {
		now, pos := checkpointOf(t, dir)
		return now == after && pos > 19
	})
}
