package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/projections"
)

// filesFlag collects a repeated flag's values.
type filesFlag []string

func (f *filesFlag) String() string     { return strings.Join(*f, ",") }
func (f *filesFlag) Set(v string) error { *f = append(*f, v); return nil }

// openTree opens the notary's tree in the data directory.
func (e *env) openTree() (*notary.Tree, error) {
	if err := e.requireLedger(); err != nil {
		return nil, err
	}
	return notary.Open(e.ctx, e.global.data)
}

// hasTree tells whether the data directory holds a notary's tree.
func (e *env) hasTree() bool { return notary.Exists(e.global.data) }

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
				return nil, usageError{"LEDGER_SIGNING_KEY holds no valid signer key"}
			}
			if memory == "" {
				dir, err := os.UserConfigDir()
				if err != nil {
					return nil, usageError{"LEDGER_SIGNER_MEMORY FILE is required with a key in LEDGER_SIGNING_KEY here (no user configuration directory: " + err.Error() + ")"}
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
		return nil, usageError{"--signing-key FILE (or LEDGER_SIGNING_KEY) is required: make one with ledger keygen"}
	}
	s, err := notary.LoadSignerWithMemory(path)
	if err != nil || memory == "" {
		return s, err
	}
	return notary.WithMemory(s.Signer, memory), nil
}

func runKeygen(e *env, args []string) error {
	fs := e.flags("keygen")
	name := fs.String("name", "", "the key's name, e.g. cpam-paris-ledger (letters, digits, '.', '-', '_')")
	out := fs.String("out", "", "file to write the signer key to (mode 0600; never overwritten)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *out == "" {
		return usageError{"--name and --out are required"}
	}
	if len(*name) > 100 || strings.ContainsFunc(*name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_')
	}) {
		return usageError{"--name: at most 100 letters, digits, '.', '-' or '_'"}
	}
	skey, vkey, err := notary.GenerateKey(*name)
	if err != nil {
		return err
	}
	if err := notary.WriteSignerKey(*out, skey); err != nil {
		return failed{err.Error()}
	}
	fmt.Fprintln(e.stdout, vkey)
	return nil
}

func runCheckpoint(e *env, args []string) error {
	fs := e.flags("checkpoint")
	keyFile := fs.String("signing-key", "", "signer key file (env LEDGER_SIGNING_KEY)")
	origin := fs.String("origin", "", "the log's origin line (default: the ledger's own, stable for its life)")
	var witnesses filesFlag
	fs.Var(&witnesses, "witness", "the URL of a witness to cosign the checkpoint (repeatable; ledger witness runs one)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	s, err := signer(*keyFile)
	if err != nil {
		return err
	}
	return e.withTree(func(store eventstore.Store, tree *notary.Tree) error {
		st, err := tree.Checkpoint(e.ctx, store, s, *origin)
		if err != nil {
			return err
		}
		if st, err = tree.CosignAll(e.ctx, st, witnesses); err != nil {
			return failed{fmt.Sprintf("FAILED: the checkpoint of %d events was signed but not cosigned: %v", st.Size, err)}
		}
		if e.global.json {
			return e.printJSON(st)
		}
		fmt.Fprint(e.stdout, st.Note)
		return nil
	})
}

func runCheckpoints(e *env, args []string) error {
	if err := e.parse(e.flags("checkpoints"), args); err != nil {
		return err
	}
	tree, err := e.openTree()
	if err != nil {
		return err
	}
	defer tree.Close()
	all, err := tree.Checkpoints(e.ctx)
	if err != nil {
		return err
	}
	if e.global.json {
		return e.printJSON(all)
	}
	tw := textout.NewTable(e.stdout)
	fmt.Fprintln(tw, "ID\tSIGNED\tSIZE\tROOT\tKEY\tORIGIN\t")
	for _, c := range all {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t\n", c.ID, c.SignedAt.Format("2006-01-02T15:04:05Z"), c.Size, c.Root, c.KeyName, c.Origin)
	}
	return tw.Flush()
}

// readCheckpoints reads and opens checkpoint files with the verifier key,
// each checked against the witness policy.
func readCheckpoints(files []string, keyFile string, policy notary.WitnessPolicy) ([]notary.Named, error) {
	if len(files) == 0 {
		return nil, nil
	}
	if keyFile == "" {
		return nil, usageError{"--checkpoint needs --verifier-key FILE"}
	}
	v, err := notary.LoadVerifier(keyFile)
	if err != nil {
		return nil, failed{err.Error()}
	}
	var out []notary.Named
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, failed{fmt.Sprintf("checkpoint %s: %v", f, err)}
		}
		c, err := notary.OpenCheckpoint(raw, v)
		if err != nil {
			return nil, failed{fmt.Sprintf("FAILED: checkpoint %s: %v", f, err)}
		}
		if _, err := policy.Check(raw); err != nil {
			return nil, failed{fmt.Sprintf("FAILED: checkpoint %s: %v", f, err)}
		}
		out = append(out, notary.Named{Name: f, Checkpoint: c})
	}
	return out, nil
}

func runVerify(e *env, args []string) error {
	fs := e.flags("verify")
	var cpFiles filesFlag
	fs.Var(&cpFiles, "checkpoint", "a signed checkpoint the log must match (repeatable)")
	keyFile := fs.String("verifier-key", "", "the verifier key the checkpoints are signed with")
	logOnly := fs.Bool("log-only", false, "check the log only, not the read models against it (faster)")
	witnessKeys, need := policyFlags(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	policy, err := witnessPolicy(*witnessKeys, *need)
	if err != nil {
		return err
	}
	cps, err := readCheckpoints(cpFiles, *keyFile, policy)
	if err != nil {
		return err
	}
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := verifyLog(e, store, cps)
	if err != nil {
		return err
	}
	out := map[string]any{"ok": true, "events": rep.Events, "streams": rep.Streams, "head": rep.Head, "checkpoints": rep.Checkpoints}
	var models *projections.CheckReport
	if !*logOnly {
		m, err := e.models().Check(e.ctx, store, 20)
		switch {
		case errors.Is(err, projections.ErrNoReadModels):
			out["read_models"] = "none"
			*logOnly = true
		case err != nil:
			return err
		default:
			models = &m
			out["read_models"] = m
			out["ok"] = len(m.Mismatches) == 0
			e.recordModels(m)
		}
	}
	if len(policy.Keys) > 0 {
		out["witnesses_required"] = policy.Need
	}
	if e.global.json {
		out["scope"] = verifyScope(len(cps) > 0, models != nil)
		if err := e.printJSON(out); err != nil {
			return err
		}
	} else {
		printVerified(e, rep, len(cps), models)
		if len(policy.Keys) > 0 && len(cps) > 0 {
			fmt.Fprintf(e.stdout, "witnesses: each checkpoint cosigned by at least %d of the %d witnesses given\n", policy.Need, len(policy.Keys))
		}
		if out["read_models"] == "none" {
			fmt.Fprintln(e.stdout, "read models: none yet in this directory (no query has built them): nothing served, nothing to compare")
		}
		fmt.Fprintln(e.stdout, "scope: "+verifyScope(len(cps) > 0, models != nil))
	}
	if models != nil && len(models.Mismatches) > 0 {
		return failed{fmt.Sprintf("FAILED: the read models differ from the log in %d rows (first: table %s, contract %s); ledger rebuild makes them again from the log",
			int64(len(models.Mismatches))+models.More, models.Mismatches[0].Table, models.Mismatches[0].ContractID)}
	}
	return nil
}

// verifyScope says in one line what verify proved, and what it did not.
func verifyScope(signed, models bool) string {
	s := "the log is internally consistent (every stream's hash chain); not proven against a signed checkpoint, so a consistent rewrite or a truncated log would pass"
	if signed {
		s = "the log is internally consistent and its first events are exactly those the signed checkpoints cover; events after the last checkpoint are only internally consistent"
	}
	if models {
		return s + "; the read models were compared row by row with a fresh fold of the log"
	}
	return s + "; the read models were not compared with it (--log-only, or none yet)"
}

// printVerified prints what verify found good.
func printVerified(e *env, rep notary.LogReport, checkpoints int, models *projections.CheckReport) {
	// The first line is the first release's, "ok: …" (scripts read it),
	// and only when every check passed.
	first := "ok: "
	if models != nil && len(models.Mismatches) > 0 {
		first = "log: "
	}
	fmt.Fprintf(e.stdout, "%s%s in %s verified, head position %d", first, textout.Plural(int(rep.Events), "event"), textout.Plural(rep.Streams, "stream"), rep.Head)
	if checkpoints > 0 {
		fmt.Fprintf(e.stdout, "; %s match the log as stored", textout.Plural(rep.Checkpoints, "signed checkpoint"))
	}
	fmt.Fprintln(e.stdout)
	if models == nil {
		return
	}
	if len(models.Mismatches) == 0 {
		fmt.Fprintf(e.stdout, "read models: %s in %s identical to a fresh fold of the log up to position %d\n", textout.Plural(int(models.Rows), "row"), textout.Plural(models.Tables, "table"), models.Position)
		return
	}
	fmt.Fprintf(e.stdout, "read models: DIFFERENT from a fresh fold of the log up to position %d:\n", models.Position)
	for _, m := range models.Mismatches {
		fmt.Fprintf(e.stdout, "  contract %s, table %s\n", m.ContractID, m.Table)
		if m.Stored != "" {
			fmt.Fprintf(e.stdout, "    stored:   %s\n", m.Stored)
		}
		if m.Rebuilt != "" {
			fmt.Fprintf(e.stdout, "    from log: %s\n", m.Rebuilt)
		}
	}
	if models.More > 0 {
		fmt.Fprintf(e.stdout, "  … and %s more\n", textout.Plural(int(models.More), "row"))
	}
}

// verifyLog checks the log's chains and the checkpoints, and turns a
// failure into the command's answer.
func verifyLog(e *env, store eventstore.Store, cps []notary.Named) (notary.LogReport, error) {
	var tree *notary.Tree
	if len(cps) > 0 && e.hasTree() {
		// Read only to name the first event that differs, never trusted.
		t, err := e.openTree()
		if err != nil {
			return notary.LogReport{}, err
		}
		defer t.Close()
		tree = t
	}
	rep, err := notary.VerifyLog(e.ctx, store, cps, tree)
	e.recordChain(rep, err)
	var ce *eventstore.CorruptionError
	var cpe *notary.CheckpointError
	switch {
	case errors.As(err, &ce):
		if e.global.json {
			e.printJSON(map[string]any{"ok": false, "stream": ce.Stream, "revision": ce.Revision, "position": ce.Position, "event_id": ce.EventID, "reason": ce.Reason})
		}
		return rep, failed{fmt.Sprintf("FAILED: first bad event: stream %s revision %d position %d event %s: %s", ce.Stream, ce.Revision, ce.Position, ce.EventID, ce.Reason)}
	case errors.As(err, &cpe):
		if e.global.json {
			out := map[string]any{"ok": false, "checkpoint": cpe.Name, "tree_size": cpe.Size, "reason": cpe.Reason}
			if d := cpe.First; d != nil {
				out["first_different_leaf"] = d.Leaf
				if d.Now != nil {
					out["event_id"], out["stream"], out["revision"], out["position"] = d.Now.EventID, d.Now.Stream, d.Now.Revision, d.Now.Position
				}
			}
			e.printJSON(out)
		}
		return rep, failed{"FAILED: " + cpe.Error()}
	}
	return rep, err
}

func runProve(e *env, args []string) error {
	fs := e.flags("prove")
	event := fs.String("event", "", "the event to prove (its event_id, as ledger audit shows it)")
	cpFile := fs.String("checkpoint", "", "the signed checkpoint to prove it against")
	from := fs.String("from", "", "an older signed checkpoint (consistency proof)")
	to := fs.String("to", "", "a newer signed checkpoint (consistency proof)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	inclusion, consistency := *event != "" || *cpFile != "", *from != "" || *to != ""
	if inclusion == consistency {
		return usageError{"give --event ID --checkpoint FILE, or --from OLD --to NEW"}
	}
	read := func(name, path string) ([]byte, error) {
		if path == "" {
			return nil, usageError{name + " is required"}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, failed{err.Error()}
		}
		return b, nil
	}
	var proof any
	err := e.withTree(func(store eventstore.Store, tree *notary.Tree) error {
		if _, err := tree.CatchUp(e.ctx, store, notary.Hooks{}); err != nil {
			return err
		}
		var err error
		if inclusion {
			proof, err = proveInclusion(e, store, tree, *event, *cpFile, read)
		} else {
			proof, err = proveConsistency(tree, *from, *to, read)
		}
		return err
	})
	if err != nil {
		return err
	}
	raw, err := notary.MarshalProof(proof)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(raw)
	return err
}

// proveInclusion proves the event is in the log the checkpoint signs.
func proveInclusion(e *env, store eventstore.Store, tree *notary.Tree, event, cpFile string, read func(name, path string) ([]byte, error)) (any, error) {
	id, err := uuid.Parse(event)
	if err != nil {
		return nil, usageError{fmt.Sprintf("--event %q is not an event id (a UUID)", event)}
	}
	cp, err := read("--checkpoint", cpFile)
	if err != nil {
		return nil, err
	}
	proof, err := tree.ProveEvent(e.ctx, store, id, cp)
	if err != nil {
		return nil, failed{err.Error()}
	}
	return proof, nil
}

// proveConsistency proves the newer checkpoint's log extends the older's.
func proveConsistency(tree *notary.Tree, from, to string, read func(name, path string) ([]byte, error)) (any, error) {
	older, err := read("--from", from)
	if err != nil {
		return nil, err
	}
	newer, err := read("--to", to)
	if err != nil {
		return nil, err
	}
	proof, err := tree.ProveConsistency(older, newer)
	if err != nil {
		return nil, failed{err.Error()}
	}
	return proof, nil
}

// withTree runs fn on the event store and the notary's tree of the data
// directory, closing both after.
func (e *env) withTree(fn func(eventstore.Store, *notary.Tree) error) error {
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	tree, err := e.openTree()
	if err != nil {
		return err
	}
	defer tree.Close()
	return fn(store, tree)
}

func runVerifyProof(e *env, args []string) error {
	fs := e.flags("verify-proof")
	proofFile := fs.String("proof", "", "the proof (a line of JSON from ledger prove); - for standard input")
	keyFile := fs.String("verifier-key", "", "the verifier key the checkpoints are signed with")
	witnessKeys, need := policyFlags(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *proofFile == "" || *keyFile == "" {
		return usageError{"--proof and --verifier-key are required"}
	}
	policy, err := witnessPolicy(*witnessKeys, *need)
	if err != nil {
		return err
	}
	v, err := notary.LoadVerifier(*keyFile)
	if err != nil {
		return failed{err.Error()}
	}
	var raw []byte
	if *proofFile == "-" {
		raw, err = readAllLimited(e.stdin, 64<<20)
	} else {
		raw, err = os.ReadFile(*proofFile)
	}
	if err != nil {
		return failed{err.Error()}
	}
	res, err := notary.VerifyProof(raw, v)
	if err != nil {
		return failed{"INVALID: " + err.Error()}
	}
	var cosigners []string
	for _, n := range res.Notes {
		names, err := policy.Check(n)
		if err != nil {
			return failed{"INVALID: the checkpoint " + err.Error()}
		}
		cosigners = names
	}
	if e.global.json {
		out := map[string]any{"ok": true, "kind": res.Kind, "origin": res.Origin, "tree_size": res.TreeSize,
			"event_id": res.EventID, "leaf_index": res.LeafIndex, "old_size": res.OldSize,
			"root_hash": base64.StdEncoding.EncodeToString(res.Checkpoint.Root[:]), "signed_by": v.Name()}
		if len(policy.Keys) > 0 {
			out["cosigned_by"] = cosigners
		}
		if ev := res.Event; ev != nil {
			vouched := map[string]any{"event_id": ev.EventID, "stream": ev.Stream, "revision": ev.Revision, "type": ev.Type,
				"occurred_on": ev.OccurredOn, "recorded_at": ev.RecordedAt, "actor": ev.Actor, "hash": ev.Hash}
			if res.Amount != "" {
				vouched["amount"] = res.Amount
			}
			out["event"] = vouched
		}
		return e.printJSON(out)
	}
	if len(policy.Keys) > 0 {
		defer fmt.Fprintf(e.stdout, "witnesses: cosigned by %s (%d required of the %d given)\n", strings.Join(cosigners, ", "), policy.Need, len(policy.Keys))
	}
	switch res.Kind {
	case "inclusion":
		ev := res.Event
		fmt.Fprintf(e.stdout, "ok: event %s is leaf %d of the tree of %d events signed by %s (origin %s)\n", res.EventID, res.LeafIndex, res.TreeSize, v.Name(), res.Origin)
		fmt.Fprintf(e.stdout, "checked: the event's hash recomputed from the fields below, the checkpoint's signature, the audit path to its root\n")
		tw := textout.NewTable(e.stdout)
		for _, row := range [][2]string{{"event", ev.EventID.String()}, {"stream", ev.Stream}, {"revision", fmt.Sprint(ev.Revision)},
			{"type", ev.Type}, {"business date", ev.OccurredOn}, {"recorded at", ev.RecordedAt}, {"actor", ev.Actor}, {"amount", res.Amount}, {"data", string(ev.Data)}} {
			if row[1] != "" {
				fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
			}
		}
		tw.Flush()
	default:
		fmt.Fprintf(e.stdout, "ok: the tree of %d events is a prefix of the tree of %d events, both signed by %s (origin %s)\n", res.OldSize, res.TreeSize, v.Name(), res.Origin)
		fmt.Fprintf(e.stdout, "checked: both checkpoints' signatures, the consistency path between their roots\n")
	}
	return nil
}

// readAllLimited reads r up to limit bytes, and fails past them.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, err
}
