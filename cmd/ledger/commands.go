package main

import (
	"context"
	"fmt"
	"io"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/internal/buildinfo"
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/erasure"
	"github.com/cptsledger/ledger/internal/payrun"
	"github.com/cptsledger/ledger/query"
)

// run is the whole program, testable in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return program.Run(ctx, args, stdin, stdout, stderr)
}

// program is the ledger's command line: its commands, one file each.
var program *cli.Program

func init() {
	program = &cli.Program{Name: "ledger", Title: "ledger — event-sourced ledger of conventional payments (CPTS funding under the ACI)",
		Commands: commands(), DefaultData: defaultData, Values: flagValues,
		Subcommands: map[string][]string{"token": {"create", "list", "revoke"}, "export": {"payments"}, "rulebook": {"publish"}, "pay": {"run", "import"},
			"completion": {"bash", "zsh", "fish"}},
		Schemes: func() []domain.Scheme { return app.DefaultSchemes() },
		Version: func() string { return buildinfo.Read().String() },
	}
}

func commands() []cli.Command {
	const id = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"
	return []cli.Command{
		command("init", "start a new, empty ledger in the data directory", "init", "ledger --data /srv/ledger init", runInit),
		command("submit", "apply commands from a JSON-lines file", "submit --file F   (F = - for standard input)", "ledger submit --file examples/t2-contract.jsonl", runSubmit),
		command("contracts", "find contracts: by name or id, CPAM, ARS, tier, scheme, status", "contracts [--q TEXT] [--cpam C] [--ars A] [--tier T] [--scheme S] [--status live|terminated] [--as-of DATE] [--known-at TIME] [--limit N] [--cursor C]", "ledger contracts --q 'val de loire' --status live", runContracts),
		command("contract", "a contract's terms, status, balance and next deadline", "contract ID [--as-of DATE] [--known-at TIME]", "ledger contract "+id+" --as-of 2021-12-31", runContract),
		command("payments", "list a contract's payment decisions", "payments --contract ID [--as-of DATE] [--known-at TIME]", "ledger payments --contract "+id+" --as-of 2021-12-31", runPayments),
		command("balance", "decided amounts of a contract, by contract year", "balance --contract ID [--as-of DATE] [--known-at TIME]", "ledger balance --contract "+id, runBalance),
		command("alerts", "deadline alerts of every live contract", "alerts [--as-of DATE] [--known-at TIME] [--within DAYS] [--status S] [--cpam C] [--ars A]", "ledger alerts --status overdue --cpam 'CPAM du Loiret'", runAlerts),
		command("audit", "a contract's events with their envelope and hash chain", "audit --contract ID [--as-of DATE] [--known-at TIME]", "ledger audit --contract "+id, runAudit),
		command("verify", "check every hash chain, the log against signed checkpoints, and the read models against the log (without a checkpoint it proves internal consistency only: a consistent rewrite or a truncated log passes)", "verify [--checkpoint FILE]... [--verifier-key FILE] [--witness-key FILE]... [--witnesses N] [--log-only] [--models-memory FILE]", "ledger verify --checkpoint cp-19 --verifier-key verifier.pub", runVerify),
		command("keygen", "make a signer key for checkpoints (prints its verifier key)", "keygen --name NAME --out FILE", "ledger keygen --name cpam-ledger --out signer.key > verifier.pub", runKeygen),
		command("checkpoint", "sign a checkpoint of the Merkle tree over the whole log", "checkpoint --signing-key FILE [--origin ORIGIN] [--witness URL]...", "ledger checkpoint --signing-key signer.key --witness http://witness.example:7401 > cp-19", runCheckpoint),
		command("witness", "run a witness: cosign the ledger's checkpoints, each only when consistent with the last it cosigned", "witness --signing-key FILE --log-key FILE [--listen HOST:PORT] [--memory FILE]", "ledger witness --signing-key witness.key --log-key verifier.pub --listen 127.0.0.1:7401", runWitness),
		command("checkpoints", "list every checkpoint signed", "checkpoints", "ledger --json checkpoints", runCheckpoints),
		command("prove", "prove an event is in a checkpoint's tree, or two checkpoints consistent", "prove --event ID --checkpoint FILE | prove --from OLD --to NEW", "ledger prove --event b1f3afeb-3333-5d57-a818-406821badb68 --checkpoint cp-19 > proof.json", runProve),
		command("verify-proof", "check a proof offline, with only the verifier key", "verify-proof --proof FILE --verifier-key FILE [--witness-key FILE]... [--witnesses N]", "ledger verify-proof --proof proof.json --verifier-key verifier.pub", runVerifyProof),
		command("backup", "write a consistent copy of the event store while the ledger runs, and its signed checkpoints in FILE.checkpoints", "backup --out FILE", "ledger backup --out /backup/ledger-$(date +%F).db", runBackup),
		command("restore", "fill an empty data directory from a backup, verify it, build the read models and keep its signed checkpoints", "restore --from FILE", "ledger --data /srv/ledger-restored restore --from /backup/ledger-2026-11-27.db", runRestore),
		command("rebuild", "rebuild the read models from the whole log, beside the live ones; refused when a hash chain is broken", "rebuild", "ledger rebuild", runRebuild),
		command("rulebooks", "rulebook versions with the amounts in force per tier, the amendments published and the crises recognised", "rulebooks [--as-of DATE] [--known-at TIME]", "ledger rulebooks --as-of 2023-01-01", runRulebooks),
		command("rulebook", "publish a rulebook amendment (amounts per tier from a date), recorded in the rulebooks stream", "rulebook publish --file F [--actor NAME]", "ledger rulebook publish --file amendment.json", runRulebook),
		command("pay", "order the payments due to confirmed bank accounts and write the bank's file (SEPA pain.001.001.09)", "pay run --through DATE [--cpam C] [--execution-date DATE] [--run ID] --out FILE [--actor NAME] | pay import --file STATEMENT", "ledger pay run --through 2026-12-31 --out payments.xml", runPay),
		command("reconcile", "a month from decision to the bank: decided, ordered, paid, returned, outstanding, and each payment due not paid", "reconcile --month YYYY-MM [--cpam C] [--known-at TIME]", "ledger reconcile --month 2026-11 --cpam 'CPAM du Loiret'", payrun.Reconcile),
		command("overpayments", "overpayment notices and where each stands (notified, contested, offsetting, settled, cancelled); --notice prints one's letter in French", "overpayments [--contract ID] [--notice REF] [--as-of DATE] [--known-at TIME]", "ledger overpayments --notice INDU-3F2A9C0B1D4E", payrun.Overpayments),
		command("erase", "erase a doctor's personal data: every aid contract of theirs records it, then the key that seals them is destroyed (refused before the retention period ends, unless --legal-basis)", "erase --person RPPS --reason TEXT [--legal-basis TEXT] [--actor NAME]", "ledger erase --person 10001234567 --reason 'retention period over'", erasure.Command),
		command("schedule", "what falls due: advances, reports awaited, balances, top-ups", "schedule [--as-of DATE] [--known-at TIME] [--within DAYS] [--cpam C]", "ledger schedule --within 31", runSchedule),
		command("totals", "decided amounts per calendar year, by scheme, CPAM, ARS or tier", "totals [--by year|scheme|cpam|ars|tier] [--as-of DATE] [--known-at TIME]", "ledger --json totals --by cpam", runTotals),
		command("export", "export payments as CSV, one row per breakdown line or per payment", "export payments [--format csv|jsonl] [--per line|payment] [--sep C] [--bom] [--contract ID] [--as-of DATE] [--known-at TIME]", "ledger export payments --per payment --sep ';' > payments.csv", runExport),
		command("demo", "generate a national history in its own directory, submit it and report", "demo [--seed N] [--today DATE] [--contracts N] [--aid-contracts N]", "ledger --data ./demo-data demo", runDemo),
		command("serve", "run the HTTP API and console, the projections and the NATS relay", "serve [--http HOST:PORT] [--nats-url URL,...] [--nats-replicas N] [--nats-listen HOST:PORT] [--signing-key FILE] [--verify-every DURATION]", "ledger serve --http 127.0.0.1:8080", runServe),
		command("token", "bearer tokens of the HTTP API: create (printed once), list, revoke", "token create --name NAME --role auditor|finance|agent|admin|key_reader [--cpam CPAM] | token list | token revoke --name NAME", "ledger token create --name audrey --role auditor", runToken),
		command("tail", "print the ledger's events from NATS as JSON lines (by default from the serve of the data directory, with its subscriber's credentials)", "tail [--subject PATTERN] [--from-start] [--limit N]", "ledger tail --subject 'ledger.cpts.*.PaymentDecided'", runTail),
		command("nats-creds", "print the credentials of a user of the embedded NATS server (an NKey seed, for --nats-nkey): subscriber for a consumer", "nats-creds --role subscriber|publisher", "ledger nats-creds --role subscriber > consumer.nk", runNATSCreds),
		command("completion", "print a shell completion script", "completion bash|zsh|fish", "source <(ledger completion bash)", cli.Completion),
		command("version", "print the version", "version [--json]", "ledger version --json", runVersion),
	}
}

// flagValues are the values a flag takes, for completion: by "command
// --flag", or by "--flag" for every command.
func flagValues() map[string][]string {
	return map[string][]string{
		"token --role":       {"auditor", "finance", "agent", "admin", "key_reader"},
		"nats-creds --role":  {"subscriber", "publisher"},
		"alerts --status":    query.AlertStatuses,
		"contracts --status": {query.StatusLive, query.StatusTerminated},
		"contracts --scheme": {"cpts", "assistant"},
		"contracts --tier":   cpts.Embedded().TierCodes(),
		"totals --by":        {"year", "scheme", "cpam", "ars", "tier"},
		"export --per":       {"line", "payment"},
		"--store":            {"embedded", "esdb"},
		"--log-level":        {"debug", "info", "warn", "error"},
	}
}

func runVersion(e *cli.Env, args []string) error {
	if err := e.Parse(e.Flags("version"), args); err != nil {
		return err
	}
	if e.Global.JSON {
		return e.PrintJSON(buildinfo.Read())
	}
	fmt.Fprintln(e.Stdout, buildinfo.Read())
	return nil
}

// command is one entry of the table: name, summary, synopsis, example, run.
func command(name, summary, usage, example string, run func(*cli.Env, []string) error) cli.Command {
	return cli.Command{Name: name, Summary: summary, Usage: usage, Example: example, Run: run}
}
