package main

import (
	"fmt"
	"os"
	"time"

	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/query"
)

// runToken manages the bearer tokens of the HTTP API: create (the token is
// printed once, on the last line of stdout), list, revoke.
func runToken(e *cli.Env, args []string) error {
	if len(args) == 0 {
		return cli.Usage("token what? create, list or revoke")
	}
	tokens := auth.Open(e.Global.Data)
	switch args[0] {
	case "-h", "--help":
		return e.Parse(e.Flags("token"), args)
	case "create":
		return tokenCreate(e, tokens, args[1:])
	case "list":
		return tokenList(e, tokens, args[1:])
	case "revoke":
		fs := e.Flags("token revoke")
		name := fs.String("name", "", "the token to revoke")
		if err := e.Parse(fs, args[1:]); err != nil {
			return err
		}
		if err := e.RequireLedger(); err != nil {
			return err
		}
		if err := tokens.Revoke(*name); err != nil {
			return cli.Fail(err.Error())
		}
		fmt.Fprintf(e.Stderr, "token %s revoked\n", *name)
		return nil
	}
	return cli.Usage(fmt.Sprintf("token %s: want create, list or revoke", args[0]))
}

// tokenCreate is token create.
func tokenCreate(e *cli.Env, tokens *auth.Store, args []string) error {
	fs := e.Flags("token create")
	name := fs.String("name", "", "who the token is for: recorded as the actor of what it submits")
	role := fs.String("role", "", "auditor, finance, agent or admin")
	cpam := fs.String("cpam", "", "an agent limited to the contracts of this CPAM (a CPAM the ledger knows, as its contracts name it)")
	newCPAM := fs.Bool("new-cpam", false, "accept a --cpam no contract of the ledger names yet")
	expires := fs.String("expires", "8760h", "how long the token is accepted: a duration (720h) or a date YYYY-MM-DD (its end, UTC)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	if err := e.RequireLedger(); err != nil {
		return err
	}
	until, err := auth.ParseExpiry(*expires, time.Now())
	if err != nil {
		return cli.Usage(err.Error())
	}
	if *cpam != "" && !*newCPAM {
		if err := knownCPAM(e, *cpam); err != nil {
			return err
		}
	}
	if v := os.Getenv("LEDGER_TOKEN_MAX_LIFETIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cli.Usage(fmt.Sprintf("LEDGER_TOKEN_MAX_LIFETIME %q: want a positive duration (8760h)", v))
		}
		tokens.MaxLifetime = d
	}
	token, err := tokens.CreateUntil(auth.Identity{Name: *name, Role: auth.Role(*role), CPAM: *cpam}, until)
	if err != nil {
		return cli.Usage(err.Error())
	}
	fmt.Fprintf(e.Stderr, "token for %s (%s) created, accepted until %s; it is shown once, below — keep it secret\n", *name, *role, until.UTC().Format(timeFormat))
	fmt.Fprintln(e.Stdout, token)
	return nil
}

// timeFormat is how token times are shown: RFC 3339, UTC, to the second.
const timeFormat = "2006-01-02T15:04:05Z"

// tokenList is token list.
func tokenList(e *cli.Env, tokens *auth.Store, args []string) error {
	if err := e.Parse(e.Flags("token list"), args); err != nil {
		return err
	}
	if err := e.RequireLedger(); err != nil {
		return err
	}
	ts, err := tokens.List()
	if err != nil {
		return err
	}
	at := func(t *time.Time, none string) string {
		if t == nil {
			return none
		}
		return t.Format(timeFormat)
	}
	if e.Global.JSON {
		type listed struct {
			auth.Identity
			CreatedAt string `json:"created_at"`
			RevokedAt string `json:"revoked_at,omitempty"`
			ExpiresAt string `json:"expires_at,omitempty"`
		}
		out := make([]listed, len(ts))
		for i, t := range ts {
			out[i] = listed{Identity: t.Identity, CreatedAt: t.CreatedAt.Format(timeFormat), ExpiresAt: at(t.ExpiresAt, ""), RevokedAt: at(t.RevokedAt, "")}
		}
		return e.PrintJSON(out)
	}
	tw := textout.NewTable(e.Stdout)
	fmt.Fprintln(tw, "NAME\tROLE\tCPAM\tCREATED\tEXPIRES\tREVOKED")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, t.CPAM, t.CreatedAt.Format(timeFormat), at(t.ExpiresAt, "never"), at(t.RevokedAt, ""))
	}
	return tw.Flush()
}

// knownCPAM refuses a CPAM no contract of the ledger names: a typo ("CPAM
// du Loiet") would make a token that sees nothing; --new-cpam accepts one
// on purpose.
func knownCPAM(e *cli.Env, cpam string) error {
	return e.Reads(func(q *query.Ledger) error {
		page, err := q.SearchContracts(e.Ctx, query.ContractSearch{CPAM: cpam, Limit: 1})
		if err != nil {
			return err
		}
		if len(page.Contracts) == 0 {
			return cli.Usage(fmt.Sprintf("--cpam %q: no contract of the ledger names this CPAM (check its spelling, as ledger contracts shows it; --new-cpam if it signs none yet)", cpam))
		}
		return nil
	})
}
