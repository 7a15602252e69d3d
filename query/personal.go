package query

import (
	"context"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/projections"
)

// PersonalContract is an aid contract of a doctor as an erasure sees it.
type PersonalContract = projections.PersonalRow

// PersonalContracts returns the aid contracts of a doctor (by RPPS
// number), and those sealed under keyID, erased or not.
func (l *Ledger) PersonalContracts(ctx context.Context, rpps, keyID string) ([]PersonalContract, error) {
	var out []PersonalContract
	err := l.with(ctx, func(db *projections.DB) error {
		var err error
		out, err = db.PersonalRows(ctx, rpps, keyID)
		return err
	})
	return out, err
}

// ErasedKeys returns the ids of the keys the log says were destroyed.
func (l *Ledger) ErasedKeys(ctx context.Context) (map[string]bool, error) {
	var out map[string]bool
	err := l.with(ctx, func(db *projections.DB) error {
		var err error
		out, err = db.ErasedKeys(ctx)
		return err
	})
	return out, err
}

// AidContract returns an aid contract's state as the log holds it now.
func (l *Ledger) AidContract(ctx context.Context, id uuid.UUID) (*assistant.Contract, error) {
	st, err := l.stateAt(ctx, id, Window{}) // every event, dated or recorded whenever
	if err != nil {
		return nil, err
	}
	c, ok := st.(*assistant.Contract)
	if !ok {
		return nil, ErrUnknownContract{ID: id}
	}
	return c, nil
}
