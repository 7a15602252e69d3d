package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/internal/cli"
)

// runRulebook publishes a rulebook amendment from a file holding one
// PublishRulebookAmendment command (JSON, on one line or several).
func runRulebook(e *cli.Env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return e.Parse(e.Flags("rulebook"), args)
	}
	if len(args) == 0 || args[0] != "publish" {
		return cli.Usage("ledger rulebook publish --file F: the only action is publish")
	}
	fs := e.Flags("rulebook publish")
	file := fs.String("file", "", "a JSON file holding one PublishRulebookAmendment command (- for standard input)")
	actor := fs.String("actor", cli.EnvOr("LEDGER_ACTOR", cli.EnvOr("USER", "cli")), "who publishes (recorded on the event; env LEDGER_ACTOR)")
	if err := e.Parse(fs, args[1:]); err != nil {
		return err
	}
	if *file == "" {
		return cli.Usage("--file is required")
	}
	var raw []byte
	var err error
	if *file == "-" {
		raw, err = io.ReadAll(io.LimitReader(e.Stdin, domain.MaxCommandBytes+1))
	} else {
		raw, err = readLimited(*file, domain.MaxCommandBytes+1)
	}
	if err != nil {
		return err
	}
	// One line for the command path: a JSON document over several lines
	// is compacted (a malformed one is the decoder's to name); a file of
	// several documents is refused.
	dec := json.NewDecoder(bytes.NewReader(raw))
	var first json.RawMessage
	if dec.Decode(&first) == nil {
		if _, err := dec.Token(); err != io.EOF {
			return cli.Usage(fmt.Sprintf("%s holds more than one JSON value: ledger rulebook publish takes one amendment", *file))
		}
		var compact bytes.Buffer
		if json.Compact(&compact, first) == nil {
			raw = compact.Bytes()
		}
	}
	if h, err := domain.PeekHeader(raw); err == nil && h.Type != cpts.CmdPublishRulebookAmendment {
		return cli.Usage(fmt.Sprintf("the file holds a %q command: ledger rulebook publish takes a %s", h.Type, cpts.CmdPublishRulebookAmendment))
	}
	store, err := e.OpenStore()
	if err != nil {
		return err
	}
	defer store.Close()
	ledger := app.New(store, app.Options{Actor: *actor, Schemes: e.Schemes, ReplayHistory: replayHistory})
	if err := e.RecordRuleCorrections(ledger); err != nil {
		return err
	}
	res, err := ledger.SubmitAs(e.Ctx, *actor, raw)
	if err != nil {
		return err
	}
	// One line, as submit prints each command's result.
	out := json.NewEncoder(e.Stdout)
	out.SetEscapeHTML(false)
	if err := out.Encode(res); err != nil {
		return err
	}
	if !res.OK {
		return cli.Fail("the amendment was rejected")
	}
	return nil
}

// readLimited reads at most n bytes of a file.
func readLimited(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}
