package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/notary"
)

// runWitness runs a witness: a process apart from the ledger, with its own
// key and its own memory of the last checkpoint it cosigned, which cosigns
// a checkpoint of the ledger only when it is consistent with that one
// (notary.Witness). It serves POST /add-checkpoint until interrupted.
func runWitness(e *cli.Env, args []string) error {
	fs := e.Flags("witness")
	keyFile := fs.String("signing-key", "", "the witness's own signer key (ledger keygen; never the ledger's)")
	logKey := fs.String("log-key", "", "the ledger's verifier key: the only log whose checkpoints it cosigns")
	memory := fs.String("memory", "", "the file remembering the last checkpoint cosigned (default: the key's path + .witnessed-checkpoint)")
	listen := fs.String("listen", "127.0.0.1:7401", "host:port to serve on")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	if *keyFile == "" || *logKey == "" {
		return cli.Usage("--signing-key and --log-key are required")
	}
	s, err := notary.LoadSigner(*keyFile)
	if err != nil {
		return cli.Fail(err.Error())
	}
	v, err := notary.LoadVerifier(*logKey)
	if err != nil {
		return cli.Fail(err.Error())
	}
	if v.Name() == s.Name() && v.KeyHash() == s.KeyHash() {
		return cli.Usage("--signing-key is the ledger's own key: a witness has a key of its own")
	}
	if *memory == "" {
		*memory = *keyFile + ".witnessed-checkpoint"
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return cli.Fail(err.Error())
	}
	srv := &http.Server{Handler: notary.NewWitness(s, v, *memory).Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	fmt.Fprintf(e.Stderr, "witness %s of log %s: listening on http://%s\n", s.Name(), v.Name(), l.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case <-e.Ctx.Done():
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	case err := <-done:
		return err
	}
}

// witnessPolicy reads --witness-key (repeatable) and --witnesses into the
// policy an auditor requires.
func witnessPolicy(keys []string, need int) (notary.WitnessPolicy, error) {
	var p notary.WitnessPolicy
	for _, k := range keys {
		v, err := notary.LoadVerifier(k)
		if err != nil {
			return p, cli.Fail(err.Error())
		}
		p.Keys = append(p.Keys, v)
	}
	p.Need = need
	if need < 0 {
		p.Need = len(p.Keys) // default: every witness given
	}
	if p.Need > len(p.Keys) {
		return p, cli.Usage(fmt.Sprintf("--witnesses %d: only %d --witness-key given", p.Need, len(p.Keys)))
	}
	return p, nil
}

// policyFlags adds --witness-key and --witnesses to a command's flags.
func policyFlags(fs *flag.FlagSet) (*cli.FilesFlag, *int) {
	var keys cli.FilesFlag
	fs.Var(&keys, "witness-key", "a witness's verifier key (repeatable): its cosignature is required, see --witnesses")
	need := fs.Int("witnesses", -1, "how many of the --witness-key witnesses must have cosigned (default: all given)")
	return &keys, need
}
