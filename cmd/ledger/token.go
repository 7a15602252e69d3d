package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/cptsledger/ledger/auth"
)

// runToken manages the bearer tokens of the HTTP API: create (the token is
// printed once, on the last line of stdout), list, revoke.
func runToken(e *env, args []string) error {
	if len(args) == 0 {
		return usageError{"token what? create, list or revoke"}
	}
	tokens := auth.Open(e.global.data)
	switch args[0] {
	case "-h", "--help":
		return e.parse(e.flags("token"), args)
	case "create":
		fs := e.flags("token create")
		name := fs.String("name", "", "who the token is for: recorded as the actor of what it submits")
		role := fs.String("role", "", "auditor, finance, agent or admin")
		cpam := fs.String("cpam", "", "an agent limited to the contracts of this CPAM")
		if err := e.parse(fs, args[1:]); err != nil {
			return err
		}
		if err := e.requireLedger(); err != nil {
			return err
		}
		token, err := tokens.Create(auth.Identity{Name: *name, Role: auth.Role(*role), CPAM: *cpam})
		if err != nil {
			return usageError{err.Error()}
		}
		fmt.Fprintf(e.stderr, "token for %s (%s) created; it is shown once, below — keep it secret\n", *name, *role)
		fmt.Fprintln(e.stdout, token)
		return nil
	case "list":
		if err := e.parse(e.flags("token list"), args[1:]); err != nil {
			return err
		}
		if err := e.requireLedger(); err != nil {
			return err
		}
		ts, err := tokens.List()
		if err != nil {
			return err
		}
		if e.global.json {
			type listed struct {
				auth.Identity
				CreatedAt string `json:"created_at"`
				RevokedAt string `json:"revoked_at,omitempty"`
			}
			out := make([]listed, len(ts))
			for i, t := range ts {
				out[i] = listed{Identity: t.Identity, CreatedAt: t.CreatedAt.Format("2006-01-02T15:04:05Z")}
				if t.RevokedAt != nil {
					out[i].RevokedAt = t.RevokedAt.Format("2006-01-02T15:04:05Z")
				}
			}
			return e.printJSON(out)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCPAM\tCREATED\tREVOKED\t")
		for _, t := range ts {
			revoked := ""
			if t.RevokedAt != nil {
				revoked = t.RevokedAt.Format("2006-01-02T15:04:05Z")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", t.Name, t.Role, t.CPAM, t.CreatedAt.Format("2006-01-02T15:04:05Z"), revoked)
		}
		return tw.Flush()
	case "revoke":
		fs := e.flags("token revoke")
		name := fs.String("name", "", "the token to revoke")
		if err := e.parse(fs, args[1:]); err != nil {
			return err
		}
		if err := e.requireLedger(); err != nil {
			return err
		}
		if err := tokens.Revoke(*name); err != nil {
			return failed{err.Error()}
		}
		fmt.Fprintf(e.stderr, "token %s revoked\n", *name)
		return nil
	}
	return usageError{fmt.Sprintf("token %s: want create, list or revoke", args[0])}
}
