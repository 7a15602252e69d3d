package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cptsledger/ledger/eventstore"
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

// `ledger serve` with its embedded NATS server publishes what `ledger
// submit` appends while it runs; `ledger tail` reads it back in order.
func TestServeAndTail(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var serveErr syncBuffer
	served := make(chan int, 1)
	go func() {
		served <- run(ctx, []string{"--data", dir, "serve", "--nats-listen", addr}, nil, &bytes.Buffer{}, &serveErr)
	}()
	defer func() {
		cancel()
		if code := <-served; code != 0 {
			t.Errorf("serve exited %d: %s", code, serveErr.String())
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(serveErr.String(), "serving") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", serveErr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	if code := run(tailCtx, []string{"tail", "--nats-url", "nats://" + addr, "--from-start", "--limit", "19"}, nil, &tailOut, &tailErr); code != 0 {
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
