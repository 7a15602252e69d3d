package main

import (
	"fmt"
	"os"

	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/natsserver"
)

// runNATSCreds prints a user's NKey seed for the embedded NATS server,
// made if serve has not made it yet: a consumer connects with it
// (--nats-nkey FILE, nats.NkeyOptionFromSeed). The seed is a secret: it is
// printed, never logged.
func runNATSCreds(e *cli.Env, args []string) error {
	fs := e.Flags("nats-creds")
	role := fs.String("role", natsserver.RoleSubscriber, "subscriber (read the streams) or publisher (serve's own: publish and manage them)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	if *role != natsserver.RoleSubscriber && *role != natsserver.RolePublisher {
		return cli.Usage(fmt.Sprintf("--role %q: want subscriber or publisher", *role))
	}
	if err := e.RequireLedger(); err != nil {
		return err
	}
	if _, err := natsserver.EnsureUsers(e.Global.Data); err != nil {
		return cli.Fail(err.Error())
	}
	raw, err := os.ReadFile(natsserver.SeedFile(e.Global.Data, *role))
	if err != nil {
		return err
	}
	_, err = e.Stdout.Write(raw)
	return err
}
