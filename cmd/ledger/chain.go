package main

import (
	"errors"
	"fmt"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/chainstatus"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/projections"
)

// recordChain records the verdict of a whole check of the log (verify) in
// the data directory: a failure makes every query refuse until a check
// finds the log whole again. An error that is not a verdict (the store
// could not be read) records nothing.
func (e *env) recordChain(rep notary.LogReport, err error) {
	if st, ok := chainstatus.OfVerify(rep, err); ok {
		e.writeChain(st)
	}
}

// chainFailure records a broken chain that a rebuild or a projection found
// in err, and returns err.
func (e *env) chainFailure(by string, err error) error {
	var ce *eventstore.CorruptionError
	if errors.As(err, &ce) {
		e.writeChain(chainstatus.Broken(by, ce))
		return failed{fmt.Sprintf("FAILED: the log fails its hash chain at position %d (stream %s revision %d, event %s): %s; nothing was served or rebuilt from it",
			ce.Position, ce.Stream, ce.Revision, ce.EventID, ce.Reason)}
	}
	return err
}

func (e *env) writeChain(st chainstatus.Status) {
	if e.global.data == "" {
		return
	}
	if err := chainstatus.Write(e.global.data, st); err != nil {
		fmt.Fprintf(e.stderr, "ledger: could not record the chain check's verdict: %v\n", err)
	}
}

// guardChain refuses a query when the last check found the log broken
// (chainstatus.GuardLog).
func (e *env) guardChain(store eventstore.Store) error {
	err := chainstatus.GuardLog(e.ctx, e.global.data, store, e.writeChain)
	var be *chainstatus.BrokenError
	if errors.As(err, &be) {
		return failed{"REFUSED: " + be.Error()}
	}
	return err
}

// recordModels records the verdict of a comparison of the current read
// models with the log: a file found different is not served until a
// rebuild replaces it.
func (e *env) recordModels(rep projections.CheckReport) {
	file, err := e.models().CurrentFile()
	if err != nil || e.global.data == "" {
		return
	}
	if err := chainstatus.WriteModels(e.global.data, chainstatus.OfModels(rep, file)); err != nil {
		fmt.Fprintf(e.stderr, "ledger: could not record the read models' verdict: %v\n", err)
	}
}

// guardModels refuses a query when the last comparison found the current
// read-model file different from the log.
func (e *env) guardModels(models *projections.Set) error {
	file, err := models.CurrentFile()
	if err != nil {
		return nil // none yet: the query builds them from the log
	}
	var de *chainstatus.ModelsDifferError
	if err := chainstatus.GuardModels(e.global.data, file); errors.As(err, &de) {
		return failed{"REFUSED: " + de.Error()}
	} else if err != nil {
		return err
	}
	return nil
}
