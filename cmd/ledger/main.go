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
