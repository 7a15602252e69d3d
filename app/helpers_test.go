package app_test

import (
	"context"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
)

// contractOf folds a CPTS contract's stream, keeping the events keep
// accepts (nil: all), and returns its state.
func contractOf(ctx context.Context, store eventstore.Store, id uuid.UUID, keep func(eventstore.Envelope) bool) (*cpts.Contract, error) {
	c := cpts.NewContract(id)
	err := app.ReadStream(ctx, store, cpts.Default(), cpts.Stream(id), func(env eventstore.Envelope, e domain.Event) error {
		if keep != nil && !keep(env) {
			return nil
		}
		return c.Apply(e)
	})
	return c, err
}
