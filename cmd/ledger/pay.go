package main

import (
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/payrun"
)

// runPay is ledger pay: run (orders and the bank's file), import (a bank
// statement).
func runPay(e *cli.Env, args []string) error { return payrun.Main(e, args, replayHistory) }
