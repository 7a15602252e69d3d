package main

import (
	"fmt"
	"os"

	"github.com/cptsledger/ledger/internal/natsserver"
)

// runNATSCreds prints a user's NKey seed for the embedded NATS server,
// made if serve has not made it yet: a consumer connects with it
// (--nats-nkey FILE, nats.NkeyOptionFromSeed). The seed is a secret: it is
// printed, never logged.
func runNATSCreds(e *env, args []string) error {
	fs := e.flags("nats-creds")
	role := fs.String("role", natsserver.RoleSubscriber, "subscriber (read the streams) or publisher (serve's own: publish and manage them)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *role != natsserver.RoleSubscriber && *role != natsserver.RolePublisher {
		return usageError{fmt.Sprintf("--role %q: want subscriber or publisher", *role)}
	}
	if err := e.requireLedger(); err != nil {
		return err
	}
	if _, err := natsserver.EnsureUsers(e.global.data); err != nil {
		return failed{err.Error()}
	}
	raw, err := os.ReadFile(natsserver.SeedFile(e.global.data, *role))
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(raw)
	return err
}
