// Command ledger is the event-sourced ledger of conventional payments of the
// Assurance Maladie: CPTS funding under the ACI.
//
// Usage:
//
//	ledger [--data DIR] [--json] <command> [flags]
//
// Run "ledger help" for the commands, "ledger help <command>" for one.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// replayHistory takes the commands of submit and serve as recorded on
// their own dates (app.Options.ReplayHistory). Nothing in the command sets
// it: only the package's tests do, so that the generated histories of
// 2019–2026 they submit through the real command keep their act dates;
// `ledger demo` replays its history this way in a fresh directory.
var replayHistory bool
