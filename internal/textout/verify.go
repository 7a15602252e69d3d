package textout

import (
	"errors"
	"fmt"
	"io"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/projections"
)

// VerifyScope says in one line what verify proved, and what it did not.
func VerifyScope(signed bool, models *projections.CheckReport) string {
	s := "the log is internally consistent (every stream's hash chain); not proven against a signed checkpoint, so a consistent rewrite or a truncated log would pass"
	if signed {
		s = "the log is internally consistent and its first events are exactly those the signed checkpoints cover; events after the last checkpoint are only internally consistent"
	}
	switch {
	case models != nil && models.Incremental:
		return s + "; the read models were compared row by row with the fold of the log the last check kept (its file unchanged since, the log's first events those it folded), brought forward by the events since"
	case models != nil:
		return s + "; the read models were compared row by row with a fresh fold of the log"
	}
	return s + "; the read models were not compared with it (--log-only, or none yet)"
}

// Verified writes what verify found good, and what differs in the read
// models.
func Verified(w io.Writer, rep notary.LogReport, checkpoints int, models *projections.CheckReport) {
	// The first line is the first release's, "ok: …" (scripts read it),
	// and only when every check passed.
	first := "ok: "
	if models != nil && len(models.Mismatches) > 0 {
		first = "log: "
	}
	fmt.Fprintf(w, "%s%s in %s verified, head position %d", first, Plural(int(rep.Events), "event"), Plural(rep.Streams, "stream"), rep.Head)
	if checkpoints > 0 {
		verb := "match"
		if rep.Checkpoints == 1 {
			verb = "matches"
		}
		fmt.Fprintf(w, "; %s %s the log as stored", Plural(rep.Checkpoints, "signed checkpoint"), verb)
	}
	fmt.Fprintln(w)
	if models == nil {
		return
	}
	fold := "a fresh fold of the log"
	switch {
	case models.Incremental && models.Folded == 0:
		fold = "the fold of the log kept by the last check (no event since)"
	case models.Incremental:
		fold = fmt.Sprintf("the fold of the log kept by the last check, brought forward from position %d by %s,", models.From, Plural(int(models.Folded), "event"))
	}
	if models.FullBecause != "" {
		fmt.Fprintf(w, "read models: the whole log folded again (%s) because %s; the fold is kept for the next check\n", Plural(int(models.Folded), "event"), models.FullBecause)
	}
	if len(models.Mismatches) == 0 {
		fmt.Fprintf(w, "read models: %s in %s identical to %s up to position %d\n", Plural(int(models.Rows), "row"), Plural(models.Tables, "table"), fold, models.Position)
		return
	}
	fmt.Fprintf(w, "read models: DIFFERENT from %s up to position %d:\n", fold, models.Position)
	for _, m := range models.Mismatches {
		fmt.Fprintf(w, "  contract %s, table %s\n", m.ContractID, m.Table)
		if m.Stored != "" {
			fmt.Fprintf(w, "    stored:   %s\n", m.Stored)
		}
		if m.Rebuilt != "" {
			fmt.Fprintf(w, "    from log: %s\n", m.Rebuilt)
		}
	}
	if models.More > 0 {
		fmt.Fprintf(w, "  … and %s more\n", Plural(int(models.More), "row"))
	}
}

// VerifiedProof writes what a valid proof vouches for, signed by signer.
func VerifiedProof(w io.Writer, res notary.VerifiedProof, signer string) {
	if res.Kind != "inclusion" {
		fmt.Fprintf(w, "ok: the tree of %d events is a prefix of the tree of %d events, both signed by %s (origin %s)\n", res.OldSize, res.TreeSize, signer, res.Origin)
		fmt.Fprintf(w, "checked: both checkpoints' signatures, the consistency path between their roots\n")
		return
	}
	ev := res.Event
	fmt.Fprintf(w, "ok: event %s is leaf %d of the tree of %d events signed by %s (origin %s)\n", res.EventID, res.LeafIndex, res.TreeSize, signer, res.Origin)
	fmt.Fprintf(w, "checked: the event's hash recomputed from the fields below, the checkpoint's signature, the audit path to its root\n")
	tw := NewTable(w)
	for _, row := range [][2]string{{"event", ev.EventID.String()}, {"stream", ev.Stream}, {"revision", fmt.Sprint(ev.Revision)},
		{"type", ev.Type}, {"business date", ev.OccurredOn}, {"recorded at", ev.RecordedAt}, {"actor", ev.Actor}, {"amount", res.Amount}, {"data", string(ev.Data)}} {
		if row[1] != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
		}
	}
	tw.Flush()
}

// VerifyResult is what verify found good.
type VerifyResult struct {
	Log         notary.LogReport
	Checkpoints int // signed checkpoints the log was checked against
	// Models is the comparison of the read models with the log (nil: not
	// compared); NoReadModels: there were none to compare.
	Models            *projections.CheckReport
	NoReadModels      bool
	WitnessesRequired int
	WitnessesGiven    int
}

// JSON is verify --json's answer.
func (r VerifyResult) JSON() map[string]any {
	out := map[string]any{"ok": true, "events": r.Log.Events, "streams": r.Log.Streams, "head": r.Log.Head, "checkpoints": r.Log.Checkpoints}
	switch {
	case r.NoReadModels:
		out["read_models"] = "none"
	case r.Models != nil:
		out["read_models"] = *r.Models
		out["ok"] = len(r.Models.Mismatches) == 0
	}
	if r.WitnessesGiven > 0 {
		out["witnesses_required"] = r.WitnessesRequired
	}
	out["scope"] = VerifyScope(r.Checkpoints > 0, r.Models)
	return out
}

// Write writes verify's answer for a person.
func (r VerifyResult) Write(w io.Writer) {
	Verified(w, r.Log, r.Checkpoints, r.Models)
	if r.WitnessesGiven > 0 && r.Checkpoints > 0 {
		fmt.Fprintf(w, "witnesses: each checkpoint cosigned by at least %d of the %d witnesses given\n", r.WitnessesRequired, r.WitnessesGiven)
	}
	if r.NoReadModels {
		fmt.Fprintln(w, "read models: none yet in this directory (no query has built them): nothing served, nothing to compare")
	}
	fmt.Fprintln(w, "scope: "+VerifyScope(r.Checkpoints > 0, r.Models))
}

// VerifyFailure is verify --json's answer when the log fails a check: the
// first bad event, or the checkpoint it does not match (ok false: err is
// not such a failure).
func VerifyFailure(err error) (map[string]any, bool) {
	var ce *eventstore.CorruptionError
	var cpe *notary.CheckpointError
	switch {
	case errors.As(err, &ce):
		return map[string]any{"ok": false, "stream": ce.Stream, "revision": ce.Revision, "position": ce.Position, "event_id": ce.EventID, "reason": ce.Reason}, true
	case errors.As(err, &cpe):
		out := map[string]any{"ok": false, "checkpoint": cpe.Name, "tree_size": cpe.Size, "reason": cpe.Reason}
		if d := cpe.First; d != nil {
			out["first_different_leaf"] = d.Leaf
			if d.Now != nil {
				out["event_id"], out["stream"], out["revision"], out["position"] = d.Now.EventID, d.Now.Stream, d.Now.Revision, d.Now.Position
			}
		}
		return out, true
	}
	return nil, false
}
