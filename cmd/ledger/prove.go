package main

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/notary"
)

func runProve(e *cli.Env, args []string) error {
	fs := e.Flags("prove")
	event := fs.String("event", "", "the event to prove (its event_id, as ledger audit shows it)")
	cpFile := fs.String("checkpoint", "", "the signed checkpoint to prove it against: a file, or its number in ledger checkpoints")
	from := fs.String("from", "", "an older signed checkpoint, a file or a number (consistency proof)")
	to := fs.String("to", "", "a newer signed checkpoint, a file or a number (consistency proof)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	inclusion, consistency := *event != "" || *cpFile != "", *from != "" || *to != ""
	if inclusion == consistency {
		return cli.Usage("give --event ID --checkpoint FILE, or --from OLD --to NEW")
	}
	var proof any
	err := withTree(e, func(store eventstore.Store, tree *notary.Tree) error {
		read := e.CheckpointReader(tree)
		if _, err := tree.CatchUp(e.Ctx, store, notary.Hooks{}); err != nil {
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
	_, err = e.Stdout.Write(raw)
	return err
}

// proveInclusion proves the event is in the log the checkpoint signs.
func proveInclusion(e *cli.Env, store eventstore.Store, tree *notary.Tree, event, cpFile string, read func(name, path string) ([]byte, error)) (any, error) {
	id, err := uuid.Parse(event)
	if err != nil {
		return nil, cli.Usage(fmt.Sprintf("--event %q is not an event id (a UUID)", event))
	}
	cp, err := read("--checkpoint", cpFile)
	if err != nil {
		return nil, err
	}
	proof, err := tree.ProveEvent(e.Ctx, store, id, cp)
	if err != nil {
		return nil, cli.Fail(err.Error())
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
		return nil, cli.Fail(err.Error())
	}
	return proof, nil
}

// withTree runs fn on the event store and the notary's tree of the data
// directory, closing both after.
func withTree(e *cli.Env, fn func(eventstore.Store, *notary.Tree) error) error {
	store, err := e.OpenStore()
	if err != nil {
		return err
	}
	defer store.Close()
	tree, err := e.OpenTree()
	if err != nil {
		return err
	}
	defer tree.Close()
	return fn(store, tree)
}
