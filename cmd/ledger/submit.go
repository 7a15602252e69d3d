package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/cptsledger/ledger/app"
)

// runSubmit applies each command line in order and prints one result line
// per command once its events are durable.
func runSubmit(e *env, args []string) error {
	fs := e.flags("submit")
	file := fs.String("file", "", "JSON-lines file of commands; - for standard input")
	actor := fs.String("actor", envOr("LEDGER_ACTOR", envOr("USER", "cli")), "who submits (recorded on each event; env LEDGER_ACTOR)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usageError{"--file is required"}
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
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	ledger := app.New(store, app.Options{Actor: *actor})
	res, err := submitLines(e, ledger, in)
	if err != nil {
		return err
	}
	if res.failed > 0 {
		return failed{fmt.Sprintf("%d of %d commands rejected", res.failed, res.total)}
	}
	return nil
}

type submitStats struct{ total, failed, events int }

func submitLines(e *env, ledger *app.Ledger, in io.Reader) (submitStats, error) {
	var st submitStats
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	out := json.NewEncoder(e.stdout)
	out.SetEscapeHTML(false)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		st.total++
		res, err := ledger.Submit(e.ctx, line)
		if err != nil {
			return st, fmt.Errorf("line %d: %w (nothing after this line was applied; re-submitting the file is safe)", n, err)
		}
		if !res.OK {
			st.failed++
			res.Error.Message = fmt.Sprintf("line %d: %s", n, res.Error.Message)
		}
		st.events += len(res.Events)
		if err := out.Encode(res); err != nil {
			return st, err
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("read commands: %w", err)
	}
	return st, nil
}
