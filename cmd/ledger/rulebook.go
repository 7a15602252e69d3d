package main

import (
	"encoding/json"
	"fmt"

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
	raw, err := e.ReadDocument(*file, "ledger rulebook publish takes one amendment")
	if err != nil {
		return err
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
