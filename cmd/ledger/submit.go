package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/notary"
)

// runSubmit applies each command line in order and prints one result line
// per command once its events are durable.
func runSubmit(e *env, args []string) error {
	fs := e.flags("submit")
	file := fs.String("file", "", "JSON-lines file of commands; - (or no --file, when standard input is not a terminal) for standard input")
	actor := fs.String("actor", envOr("LEDGER_ACTOR", envOr("USER", "cli")), "who submits (recorded on each event; env LEDGER_ACTOR)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		// A pipe or a file on standard input is read, as `ledger submit <
		// commands.jsonl` promises; a terminal is not waited on.
		if e.stdin == nil || textout.IsTerminal(e.stdin) {
			return usageError{"--file is required (or commands on standard input: ledger submit < commands.jsonl)"}
		}
		*file = "-"
		br := bufio.NewReader(e.stdin)
		if _, err := br.Peek(1); err != nil {
			return usageError{"--file is required (standard input held no command: ledger submit < commands.jsonl)"}
		}
		e.stdin = br
	}
	var in io.Reader = e.stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	store, err := e.createStore()
	if err != nil {
		return err
	}
	defer store.Close()
	ledger := app.New(store, app.Options{Actor: *actor, Schemes: e.schemes, Locate: notary.Locator(e.global.data, store), ReplayHistory: replayHistory})
	res, err := submitLines(e, ledger, *actor, in)
	if err != nil {
		return err
	}
	if res.failed > 0 {
		return failed{fmt.Sprintf("%d of %d commands rejected", res.failed, res.total)}
	}
	return nil
}

type submitStats struct{ total, failed, events int }

func submitLines(e *env, ledger *app.Ledger, actor string, in io.Reader) (submitStats, error) {
	var st submitStats
	out := json.NewEncoder(e.stdout)
	out.SetEscapeHTML(false)
	err := app.EachLine(in, domain.MaxCommandBytes, func(n int, line []byte, tooLong int) error {
		if len(bytes.TrimSpace(line)) == 0 && tooLong == 0 {
			return nil
		}
		st.total++
		res, err := ledger.SubmitLine(e.ctx, actor, n, line, tooLong)
		if err != nil {
			return err
		}
		if !res.OK {
			st.failed++
		}
		st.events += len(res.Events)
		return out.Encode(res)
	})
	return st, err
}

// runInit starts an empty ledger, so that a server can be started (and
// tokens made) before the first command: every other command but submit,
// demo and restore refuses a data directory without one.
func runInit(e *env, args []string) error {
	if err := e.parse(e.flags("init"), args); err != nil {
		return err
	}
	if e.requireLedger() == nil && (e.global.store == "" || e.global.store == "embedded") {
		return failed{fmt.Sprintf("%s holds a ledger already", e.global.data)}
	}
	if err := os.MkdirAll(e.global.data, 0o700); err != nil {
		return err
	}
	store, err := e.createStore()
	if err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "a new ledger in %s\n", e.global.data)
	return nil
}
