package notary

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/eventstore"
)

// Exists tells whether the data directory dir holds a notary's tree.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, DBFile))
	return err == nil
}

// Locator returns what finds the stream of an event by its id anywhere in
// the ledger (app.Options.Locate): through the tree of dir, which indexes
// every event it holds by id, then by reading the log after the tree's
// last event (or the whole log without a tree).
func Locator(dir string, store eventstore.Store) func(ctx context.Context, id uuid.UUID) (string, bool, error) {
	return func(ctx context.Context, id uuid.UUID) (string, bool, error) {
		var after eventstore.Position
		if Exists(dir) {
			tree, err := Open(ctx, dir)
			if err != nil {
				return "", false, err
			}
			ref, err := tree.Find(id)
			after = tree.Last()
			tree.Close()
			switch {
			case err == nil:
				evs, err := store.ReadAll(ctx, ref.Position-1, 1)
				if err != nil || len(evs) == 0 {
					return "", false, err
				}
				return evs[0].Stream, true, nil
			case !errors.Is(err, ErrNotInTree):
				return "", false, err
			}
		}
		var stream string
		errFound := errors.New("found")
		err := eventstore.EachPageAfter(ctx, store, after, func(page []eventstore.Envelope) error {
			for _, ev := range page {
				if ev.EventID == id {
					stream = ev.Stream
					return errFound
				}
			}
			return nil
		})
		if errors.Is(err, errFound) {
			return stream, true, nil
		}
		return "", false, err
	}
}
