package chainstatus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/projections"
)

// OfVerify is the verdict of a whole check of the log by verify (rep and
// err, notary.VerifyLog's answer), and false when err is not a verdict
// (the store could not be read): then nothing is to be recorded.
func OfVerify(rep notary.LogReport, err error) (Status, bool) {
	st := Status{OK: true, CheckedAt: time.Now().UTC(), By: "verify", Position: uint64(rep.Head)}
	var ce *eventstore.CorruptionError
	var cpe *notary.CheckpointError
	switch {
	case err == nil:
	case errors.As(err, &ce):
		st = Broken("verify", ce)
	case errors.As(err, &cpe):
		st = Status{CheckedAt: time.Now().UTC(), By: "verify", Reason: cpe.Error()}
		if d := cpe.First; d != nil && d.Now != nil {
			st.Position, st.Stream, st.EventID = uint64(d.Now.Position), d.Now.Stream, d.Now.EventID.String()
		}
	default:
		return st, false
	}
	return st, true
}

// OfModels is the verdict of a comparison of the read-model file with the
// log: a file found different is not served until a rebuild replaces it.
func OfModels(rep projections.CheckReport, file string) ModelsStatus {
	st := ModelsStatus{OK: len(rep.Mismatches) == 0, CheckedAt: time.Now().UTC(), File: file}
	if !st.OK {
		m := rep.Mismatches[0]
		st.Table, st.ContractID, st.Rows = m.Table, m.ContractID, int64(len(rep.Mismatches))+rep.More
		st.Detail = "ledger verify lists the rows"
		if m.Table == "checkpoints" {
			st.Detail = fmt.Sprintf("%s; %s", m.Stored, m.Rebuilt)
		}
	}
	return st
}

// GuardLog is the guard of a query of the CLI: nil when the verdict of dir
// says the log is whole, a *BrokenError when it says broken. A verdict
// that cannot be read (never recorded, deleted, unreadable) is unknown,
// never healthy: the whole log is checked now and the verdict recorded
// (by record, which may fail only to say so) before anything is served.
func GuardLog(ctx context.Context, dir string, store eventstore.Store, record func(Status)) error {
	err := Guard(dir)
	var ue *UnknownError
	if !errors.As(err, &ue) {
		return err
	}
	rep, verr := eventstore.Verify(ctx, store)
	var ce *eventstore.CorruptionError
	switch {
	case errors.As(verr, &ce):
		st := Broken("query", ce)
		record(st)
		return &BrokenError{Status: st}
	case verr != nil:
		return verr
	}
	record(Status{OK: true, CheckedAt: time.Now().UTC(), By: "query", Position: uint64(rep.Head)})
	return nil
}
