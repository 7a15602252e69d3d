package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/query"
)

func runExport(e *cli.Env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		args = []string{"payments", "-h"}
	}
	if len(args) == 0 || args[0] != "payments" {
		return cli.Usage("export what? only 'export payments' exists")
	}
	fs := e.Flags("export")
	format := fs.String("format", "csv", "output format: csv, or jsonl (one JSON object a row, the CSV's header as keys; also --json)")
	sep := fs.String("sep", ",", "field separator (';' for French spreadsheets, with decimal commas)")
	per := fs.String("per", "line", "one row per breakdown line (line; sum line_amount) or per payment (payment; sum amount)")
	contract := fs.String("contract", "", "only this contract (default: every contract)")
	bom := fs.Bool("bom", false, "start with a UTF-8 byte order mark, which French spreadsheets need to read accents (default: on with --sep ';'; --bom=false leaves it out)")
	window := e.WindowFlags(fs, "only decisions made on or before this business date (YYYY-MM-DD)")
	if err := e.Parse(fs, args[1:]); err != nil {
		return err
	}
	bomSet, formatSet := false, false
	fs.Visit(func(f *flag.Flag) { bomSet, formatSet = bomSet || f.Name == "bom", formatSet || f.Name == "format" })
	if e.Global.JSON {
		if formatSet && *format != "jsonl" {
			return cli.Usage(fmt.Sprintf("--json and --format %s: choose one (--json is --format jsonl)", *format))
		}
		*format = "jsonl"
	}
	if *format != "csv" && *format != "jsonl" {
		return cli.Usage(fmt.Sprintf("--format %q: want csv or jsonl", *format))
	}
	if len([]rune(*sep)) != 1 {
		return cli.Usage("--sep must be one character")
	}
	if *per != "line" && *per != "payment" {
		return cli.Usage(fmt.Sprintf("--per %q: want line or payment", *per))
	}
	f := query.ExportFilter{PerPayment: *per == "payment"}
	if *contract != "" {
		id, err := cli.ParseContract(*contract)
		if err != nil {
			return err
		}
		f.Contract = id
	}
	w, err := window()
	if err != nil {
		return err
	}
	if !bomSet {
		*bom = query.DefaultBOM([]rune(*sep)[0])
	}
	if *format == "jsonl" {
		return e.Reads(func(q *query.Ledger) error { return query.WriteJSONLines(e.Ctx, q, e.Stdout, f, w) })
	}
	return e.Reads(func(q *query.Ledger) error {
		if *bom {
			if _, err := io.WriteString(e.Stdout, query.BOM); err != nil {
				return err
			}
		}
		return query.WriteCSV(e.Ctx, q, e.Stdout, query.CSVStyle{Sep: []rune(*sep)[0]}, f, w)
	})
}
