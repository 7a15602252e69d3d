package personal

import (
	"context"
	"fmt"

	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/eventstore"
)

// ErasedKeys reads, from the log's PersonalDataErased events, the ids of
// the keys destroyed: the erasure list travels with the log.
func ErasedKeys(ctx context.Context, store eventstore.Store) (map[string]bool, error) {
	out := map[string]bool{}
	err := eventstore.EachPage(ctx, store, func(page []eventstore.Envelope) error {
		for _, env := range page {
			if env.Type != assistant.TypePersonalDataErased {
				continue
			}
			e, err := assistant.DecodeEvent(env.Type, env.SchemaVersion, env.Data)
			if err != nil {
				return err
			}
			out[e.(assistant.PersonalDataErased).KeyID] = true
		}
		return nil
	})
	return out, err
}

// Survivors returns the keys the store still holds of people the log says
// were erased: an erasure interrupted between its record and the key's
// destruction (run it again), or a key store restored by hand.
func (s *Store) Survivors(ctx context.Context, store eventstore.Store) ([]string, error) {
	held, err := s.Held()
	if err != nil || len(held) == 0 {
		return nil, err
	}
	erased, err := ErasedKeys(ctx, store)
	if err != nil {
		return nil, fmt.Errorf("personal: %w", err)
	}
	var out []string
	for _, id := range held {
		if erased[id] {
			out = append(out, id)
		}
	}
	return out, nil
}
