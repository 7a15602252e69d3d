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
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/notary"
)

// runSubmit applies each command line in order and prints one result line
// per command once its events are durable.
func runSubmit(e *cli.Env, args []string) error {
	fs := e.Flags("submit")
	file := fs.String("file", "", "JSON-lines file of commands; - (or no --file, when standard input is not a terminal) for standard input")
	actor := fs.String("actor", cli.EnvOr("LEDGER_ACTOR", cli.EnvOr("USER", "cli")), "who submits (recorded on each event; env LEDGER_ACTOR)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		// A pipe or a file on standard input is read, as `ledger submit <
		// commands.jsonl` promises; a terminal is not waited on.
		if e.Stdin == nil || textout.IsTerminal(e.Stdin) {
			return cli.Usage("--file is required (or commands on standard input: ledger submit < commands.jsonl)")
		}
		*file = "-"
		br := bufio.NewReader(e.Stdin)
		if _, err := br.Peek(1); err != nil {
			return cli.Usage("--file is required (standard input held no command: ledger submit < commands.jsonl)")
		}
		e.Stdin = br
	}
	var in io.Reader = e.Stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	store, err := e.CreateStore()
	if err != nil {
		return err
	}
	defer store.Close()
	ledger := app.New(store, app.Options{Actor: *actor, Schemes: e.Schemes, Locate: notary.Locator(e.Global.Data, store), ReplayHistory: replayHistory})
	if err := e.RecordRuleCorrections(ledger); err != nil {
		return err
	}
	res, err := submitLines(e, ledger, *actor, in)
	if err != nil {
		return err
	}
	if res.failed > 0 {
		return cli.Fail(fmt.Sprintf("%d of %d commands rejected", res.failed, res.total))
	}
	return nil
}

type submitStats struct{ total, failed, events int }

func submitLines(e *cli.Env, ledger *app.Ledger, actor string, in io.Reader) (submitStats, error) {
	var st submitStats
	out := json.NewEncoder(e.Stdout)
	out.SetEscapeHTML(false)
	err := app.EachLine(in, domain.MaxCommandBytes, func(n int, line []byte, tooLong int) error {
		if len(bytes.TrimSpace(line)) == 0 && tooLong == 0 {
			return nil
		}
		st.total++
		res, err := ledger.SubmitLine(e.Ctx, actor, n, line, tooLong)
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
func runInit(e *cli.Env, args []string) error {
	if err := e.Parse(e.Flags("init"), args); err != nil {
		return err
	}
	if e.RequireLedger() == nil && (e.Global.Store == "" || e.Global.Store == "embedded") {
		return cli.Fail(fmt.Sprintf("%s holds a ledger already", e.Global.Data))
	}
	if err := os.MkdirAll(e.Global.Data, 0o700); err != nil {
		return err
	}
	store, err := e.CreateStore()
	if err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "a new ledger in %s\n", e.Global.Data)
	return nil
}
