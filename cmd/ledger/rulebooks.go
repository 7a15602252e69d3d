package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/query"
)

// runRulebooks prints the rulebook versions with the amounts in force per
// tier, the amendments published and the crises recognised.
func runRulebooks(e *env, args []string) error {
	fs := e.flags("rulebooks")
	window := e.windowFlags(fs, "the amounts in force, the amendments and the crises as of this business date (YYYY-MM-DD)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	w, err := window()
	if err != nil {
		return err
	}
	return e.reads(func(q *query.Ledger) error {
		r, err := q.Rulebooks(e.ctx, w)
		if err != nil {
			return err
		}
		if e.global.json {
			return e.printJSON(r)
		}
		return writeRulebooks(e.stdout, r)
	})
}

// writeRulebooks prints the versions, then the amounts of each by tier (a
// dash for an amount not published), the caps, the amendments and the
// crises.
func writeRulebooks(out io.Writer, r query.Rulebooks) error {
	tw := newTable(out)
	fmt.Fprintln(tw, "VERSION\tIN FORCE\tTITLE")
	for _, v := range r.Versions {
		to := "…"
		if !v.InForceTo.IsZero() {
			to = v.InForceTo.String()
		}
		fmt.Fprintf(tw, "%s\t%s to %s\t%s\n", v.ID, v.InForceFrom, to, v.Title)
	}
	for _, v := range r.Versions {
		fmt.Fprintf(tw, "\nAMOUNTS OF %s\tT1\tT2\tT3\tT4\n", v.ID)
		byKey := map[string]map[string]string{}
		var keys []string
		for _, a := range v.Amounts {
			k := a.Component
			if a.Mission != "" {
				k = a.Mission + " " + a.Component
			}
			if byKey[k] == nil {
				byKey[k] = map[string]string{}
				keys = append(keys, k)
			}
			s := "not published"
			if a.Amount != nil {
				s = *a.Amount
			}
			if a.Amendment != nil {
				s += " (" + a.Amendment.ID + ")"
			}
			byKey[k][a.Tier] = s
		}
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k, byKey[k]["T1"], byKey[k]["T2"], byKey[k]["T3"], byKey[k]["T4"])
		}
		if len(v.AnnualCaps) > 0 {
			caps := map[string]string{}
			for _, c := range v.AnnualCaps {
				caps[c.Tier] = c.Amount
			}
			fmt.Fprintf(tw, "annual cap\t%s\t%s\t%s\t%s\n", caps["T1"], caps["T2"], caps["T3"], caps["T4"])
		}
	}
	fmt.Fprintln(tw, "\nAMENDMENT\tAMENDS\tEFFECTIVE\tPUBLISHED\tAMOUNTS\tEVENT")
	for _, a := range r.Amendments {
		rows := make([]string, len(a.Amounts))
		for i, s := range a.Amounts {
			rows[i] = fmt.Sprintf("%s %s %s %s", s.Tier, s.Mission, s.Component, s.Amount)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Amends, a.Effective, a.Published, strings.Join(rows, "; "), a.EventID)
	}
	fmt.Fprintln(tw, "\nCRISIS\tARS\tCONTRACT\tFROM\tTO\tSTATUS")
	for _, c := range r.Crises {
		contract, to, status := "all", "…", "recognised"
		if c.ContractID != nil {
			contract = c.ContractID.String()
		}
		if !c.To.IsZero() {
			to = c.To.String()
		}
		if c.Withdrawn {
			status = "withdrawn"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Recognition, c.ARS, contract, c.From, to, status)
	}
	return tw.Flush()
}

// runRulebook publishes a rulebook amendment from a file holding one
// PublishRulebookAmendment command (JSON, on one line or several).
func runRulebook(e *env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return e.parse(e.flags("rulebook"), args)
	}
	if len(args) == 0 || args[0] != "publish" {
		return usageError{"ledger rulebook publish --file F: the only action is publish"}
	}
	fs := e.flags("rulebook publish")
	file := fs.String("file", "", "a JSON file holding one PublishRulebookAmendment command (- for standard input)")
	actor := fs.String("actor", envOr("LEDGER_ACTOR", envOr("USER", "cli")), "who publishes (recorded on the event; env LEDGER_ACTOR)")
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	if *file == "" {
		return usageError{"--file is required"}
	}
	var raw []byte
	var err error
	if *file == "-" {
		raw, err = io.ReadAll(io.LimitReader(e.stdin, domain.MaxCommandBytes+1))
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
			return usageError{fmt.Sprintf("%s holds more than one JSON value: ledger rulebook publish takes one amendment", *file)}
		}
		var compact bytes.Buffer
		if json.Compact(&compact, first) == nil {
			raw = compact.Bytes()
		}
	}
	if h, err := domain.PeekHeader(raw); err == nil && h.Type != cpts.CmdPublishRulebookAmendment {
		return usageError{fmt.Sprintf("the file holds a %q command: ledger rulebook publish takes a %s", h.Type, cpts.CmdPublishRulebookAmendment)}
	}
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	ledger := app.New(store, app.Options{Actor: *actor, Schemes: e.schemes, ReplayHistory: replayHistory})
	res, err := ledger.SubmitAs(e.ctx, *actor, raw)
	if err != nil {
		return err
	}
	if err := e.printJSON(res); err != nil {
		return err
	}
	if !res.OK {
		return failed{"the amendment was rejected"}
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
