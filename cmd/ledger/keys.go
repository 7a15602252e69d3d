package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/notary"
)

// signer loads the signer key from --signing-key or LEDGER_SIGNING_KEY
// (a file's path, or the key itself), with its memory of the last
// checkpoint it signed: LEDGER_SIGNER_MEMORY if set, else the key file's
// path + ".last-checkpoint", else (a key given in the environment) a file
// named after the key in the user's configuration directory — never in
// the data directory, which whoever could fork the log can write. The key
// is never printed.
func signer(path string) (*notary.Signer, error) {
	memory := os.Getenv("LEDGER_SIGNER_MEMORY")
	if path == "" {
		v := os.Getenv("LEDGER_SIGNING_KEY")
		if strings.HasPrefix(v, "PRIVATE+KEY+") {
			s, err := note.NewSigner(strings.TrimSpace(v))
			if err != nil {
				return nil, cli.Usage("LEDGER_SIGNING_KEY holds no valid signer key")
			}
			if memory == "" {
				dir, err := os.UserConfigDir()
				if err != nil {
					return nil, cli.Usage("LEDGER_SIGNER_MEMORY FILE is required with a key in LEDGER_SIGNING_KEY here (no user configuration directory: " + err.Error() + ")")
				}
				if err := os.MkdirAll(filepath.Join(dir, "cptsledger"), 0o700); err != nil {
					return nil, err
				}
				memory = filepath.Join(dir, "cptsledger", s.Name()+"-"+fmt.Sprintf("%08x", s.KeyHash())+notary.MemorySuffix)
			}
			return notary.WithMemory(s, memory), nil
		}
		path = v
	}
	if path == "" {
		return nil, cli.Usage("--signing-key FILE (or LEDGER_SIGNING_KEY) is required: make one with ledger keygen")
	}
	s, err := notary.LoadSignerWithMemory(path)
	if err != nil || memory == "" {
		return s, err
	}
	return notary.WithMemory(s.Signer, memory), nil
}

func runKeygen(e *cli.Env, args []string) error {
	fs := e.Flags("keygen")
	name := fs.String("name", "", "the key's name, e.g. cpam-paris-ledger (letters, digits, '.', '-', '_')")
	out := fs.String("out", "", "file to write the signer key to (mode 0600; never overwritten)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *out == "" {
		return cli.Usage("--name and --out are required")
	}
	if len(*name) > 100 || strings.ContainsFunc(*name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_')
	}) {
		return cli.Usage("--name: at most 100 letters, digits, '.', '-' or '_'")
	}
	skey, vkey, err := notary.GenerateKey(*name)
	if err != nil {
		return err
	}
	if err := notary.WriteSignerKey(*out, skey); err != nil {
		return cli.Fail(err.Error())
	}
	fmt.Fprintln(e.Stdout, vkey)
	return nil
}
