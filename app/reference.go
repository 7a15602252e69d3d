package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
)

// The reference streams (domain.ReferenceFacts; cpts: rulebook amendments,
// crisis recognitions) hold facts that the decisions of many contracts
// depend on. The command path keeps them folded in memory, reads their
// tail before each use (a read of a few bytes when nothing is new), and
// hands a decision the reference as it stood: the decision copies what it
// takes into account into the contract's stream. Every rule about the
// facts is the scheme's; this file only reads, locks and appends.

// referenceCache is a scheme's reference streams folded, with their
// revisions and the commands they recorded, and the signatures of its
// contracts (signatures) for the prescription of the facts that take
// money back.
type referenceCache struct {
	mu         sync.Mutex
	ref        domain.Reference
	revision   map[string]int64
	commands   map[string]recorded
	signatures signatureIndex
}

// referenceScheme returns the scheme whose reference streams a command
// type writes (typ "": the first scheme with reference facts), and its
// cache.
func (l *Ledger) referenceScheme(typ string) (domain.ReferenceFacts, *referenceCache, bool) {
	for _, s := range l.opts.Schemes {
		rf, ok := s.(domain.ReferenceFacts)
		if ok && (typ == "" || slices.Contains(rf.ReferenceCommands(), typ)) {
			return rf, l.referenceCache(rf), true
		}
	}
	return nil, nil, false
}

func (l *Ledger) referenceCache(rf domain.ReferenceFacts) *referenceCache {
	l.mu.Lock()
	defer l.mu.Unlock()
	rc, ok := l.references[rf.Name()]
	if !ok {
		rc = &referenceCache{ref: rf.NewReference(), revision: map[string]int64{}, commands: map[string]recorded{}}
		for _, stream := range rf.ReferenceStreams() {
			rc.revision[stream] = -1
		}
		l.references[rf.Name()] = rc
	}
	return rc
}

// Reference returns the reference facts of the scheme named as they stand
// in the store (nil when it has none).
func (l *Ledger) Reference(ctx context.Context, scheme string) (domain.Reference, error) {
	for _, s := range l.opts.Schemes {
		if rf, ok := s.(domain.ReferenceFacts); ok && s.Name() == scheme {
			return l.referenceOf(ctx, rf)
		}
	}
	return nil, nil
}

func (l *Ledger) referenceOf(ctx context.Context, rf domain.ReferenceFacts) (domain.Reference, error) {
	rc := l.referenceCache(rf)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := l.refreshReference(ctx, rf, rc); err != nil {
		return nil, err
	}
	return rc.ref.Clone(), nil
}

// refreshReference folds what the reference streams gained since last
// read. The caller holds rc.mu.
func (l *Ledger) refreshReference(ctx context.Context, rf domain.ReferenceFacts, rc *referenceCache) error {
	for _, stream := range rf.ReferenceStreams() {
		for {
			envs, err := l.store.ReadStream(ctx, stream, uint64(rc.revision[stream]+1), 256)
			if err != nil {
				return fmt.Errorf("read %s: %w", stream, err)
			}
			for _, env := range envs {
				e, err := rf.DecodeEvent(env.Type, env.SchemaVersion, env.Data)
				if err == nil {
					err = rc.ref.Apply(env.EventID, e)
				}
				if err != nil {
					return fmt.Errorf("%s revision %d: %w", stream, env.Revision, err)
				}
				rc.revision[stream] = int64(env.Revision)
				rec := rc.commands[stream+"/"+env.CommandID]
				rec.types = append(rec.types, env.Type)
				if rec.digest == nil {
					rec.digest = env.CommandDigest
				}
				rc.commands[stream+"/"+env.CommandID] = rec
			}
			if len(envs) < 256 {
				break
			}
		}
	}
	return nil
}

// withReference hands a decision of payments the reference facts of its
// scheme as they stand; other commands need none.
func (l *Ledger) withReference(ctx context.Context, scheme domain.Scheme, cmd domain.Command) (domain.Command, error) {
	rf, ok := scheme.(domain.ReferenceFacts)
	_, decides := cmd.(domain.DecideDuePayments)
	_, takes := cmd.(domain.ReferenceTaker)
	if !ok || !decides && !takes {
		return cmd, nil
	}
	ref, err := l.referenceOf(ctx, rf)
	if err != nil {
		return nil, err
	}
	return rf.WithReference(cmd, ref), nil
}

// isReferenceCommand tells the command types of the reference streams.
func (l *Ledger) isReferenceCommand(typ string) bool {
	_, _, ok := l.referenceScheme(typ)
	return ok
}

// ConcernsEveryCPAM tells the command types that no identity limited to
// one CPAM may submit: those of the reference streams (an amendment, a
// crisis recognition concern the contracts of every CPAM, or of an ARS).
// The one statement of that rule: the command path refuses each such
// command (submitReference), and the HTTP API refuses a request holding
// one before any of its lines runs.
func (l *Ledger) ConcernsEveryCPAM(typ string) bool { return l.isReferenceCommand(typ) }

// submitReference decodes, decides and appends a command of a reference
// stream, with the same guarantees as a contract's: idempotent by command
// id, OK only once durable, optimistic concurrency on the stream.
func (l *Ledger) submitReference(ctx context.Context, actor string, line []byte, h domain.Header) (Result, error) {
	rf, rc, _ := l.referenceScheme(h.Type)
	cmd, err := rf.DecodeReferenceCommand(line)
	if err != nil {
		return Rejected(h.CommandID, err), nil
	}
	print, err := domain.NewCommandPrint(line, cmd)
	if err != nil {
		return Rejected(h.CommandID, err), nil
	}
	cmd, backdated := l.stampRecordingDay(cmd)
	if limit, _ := ctx.Value(cpamKey{}).(string); limit != "" {
		return Rejected(h.CommandID, domain.Reject(domain.CodeRejected, "type", fmt.Sprintf("%s concerns every CPAM: an identity limited to the contracts of %q may not submit it", h.Type, limit))), nil
	}
	stream := rf.ReferenceStream(h.Type)
	// A back-dated act is refused unless recorded already (its retry is a
	// duplicate): decideReference says which, and its prescription is not
	// checked.
	err = l.checkNamed(ctx, rf, cmd)
	if err == nil && backdated == nil {
		err = l.checkPrescription(ctx, rf, rc, stream, cmd)
	}
	var re *domain.RejectedError
	if errors.As(err, &re) {
		return Rejected(h.CommandID, err), nil
	} else if err != nil {
		return Result{}, err
	}
	mu := l.lock(stream)
	mu.Lock()
	defer mu.Unlock()
	for attempt := 0; ; attempt++ {
		events, expected, done, err := l.decideReference(ctx, rf, rc, stream, cmd, print, backdated)
		if err != nil || done != nil {
			return derefResult(done), err
		}
		res, retry, err := l.appendReference(ctx, stream, cmd.Meta().CommandID, actor, print, events, expected)
		if retry && attempt < maxConflictRetries {
			continue
		}
		return res, err
	}
}

// appendReference appends a reference command's events to its stream, at
// expected (nil: the stream is new). retry: another writer came first.
func (l *Ledger) appendReference(ctx context.Context, stream, commandID, actor string, print domain.CommandPrint, events []domain.Event, expected *eventstore.ExpectedRevision) (res Result, retry bool, err error) {
	data, err := Envelopes(stream, commandID, actor, events)
	if err != nil {
		return Result{}, false, err
	}
	for i := range data {
		data[i].CommandDigest = print.Digest()
	}
	var opts []eventstore.AppendOption
	if expected == nil {
		// A new reference stream claims its name, as a contract's its id:
		// the store's count of unclaimed streams stays what it was.
		e := eventstore.NoStream()
		expected, opts = &e, []eventstore.AppendOption{eventstore.Claim("reference/" + stream)}
	}
	ar, err := l.store.Append(ctx, stream, *expected, data, opts...)
	var wre *eventstore.WrongRevisionError
	switch {
	case errors.As(err, &wre):
		return Result{}, true, fmt.Errorf("append to %s: %w", stream, err)
	case err != nil:
		return Result{}, false, fmt.Errorf("append to %s: %w", stream, err)
	}
	types := make([]string, len(events))
	for i, e := range events {
		types[i] = e.EventType()
	}
	return accepted(commandID, types, ar.Duplicate), false, nil
}

// decideReference reads the reference up to date and decides the command
// on it: the events and the revision to append at (nil: the stream is
// new), or done, the result of a command already recorded or rejected.
func (l *Ledger) decideReference(ctx context.Context, rf domain.ReferenceFacts, rc *referenceCache, stream string, cmd domain.Command, print domain.CommandPrint, backdated error) (events []domain.Event, expected *eventstore.ExpectedRevision, done *Result, err error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := l.refreshReference(ctx, rf, rc); err != nil {
		return nil, nil, nil, err
	}
	id := cmd.Meta().CommandID
	if rec, ok := rc.commands[stream+"/"+id]; ok {
		r := accepted(id, rec.types, true)
		if !print.Same(rec.digest) {
			r = Rejected(id, domain.CommandIDReused(id, rec.types[0]))
		}
		return nil, nil, &r, nil
	}
	if backdated != nil {
		r := Rejected(id, backdated)
		return nil, nil, &r, nil
	}
	events, err = rf.DecideReference(rc.ref, cmd)
	if err != nil {
		r := Rejected(id, err)
		return nil, nil, &r, nil
	}
	if rev := rc.revision[stream]; rev >= 0 {
		e := eventstore.Exact(uint64(rev))
		expected = &e
	}
	return events, expected, nil, nil
}

// checkNamed refuses a reference command about one contract that cannot
// concern it (the scheme's CheckNamed, on the contract as it stands).
func (l *Ledger) checkNamed(ctx context.Context, rf domain.ReferenceFacts, cmd domain.Command) error {
	id, ok := rf.ContractNamed(cmd)
	if !ok {
		return nil
	}
	mu := l.lock(domain.Stream(rf.Name(), id))
	mu.Lock()
	st, err := l.state(ctx, rf, id, false)
	mu.Unlock()
	if err != nil {
		return err
	}
	return rf.CheckNamed(cmd, st.state)
}

// checkPrescription applies the correction rules' prescription to the
// reference facts that can take money back (the scheme's Reaches) on every
// contract they reach: one whose settled year would be regularised by
// recovering money decided more than the rulebook's
// recovery_prescription_years before the fact's date refuses it
// (prescribed). The contracts are found by their signatures, kept in an
// index that reads only the log's tail since it was last brought up to
// date. A rare command, checked before the stream's lock and decided again
// under it (a contract changed meanwhile is judged at its next decision).
func (l *Ledger) checkPrescription(ctx context.Context, rf domain.ReferenceFacts, rc *referenceCache, stream string, cmd domain.Command) error {
	ref, err := l.referenceOf(ctx, rf)
	if err != nil {
		return err
	}
	events, err := rf.DecideReference(ref, cmd)
	if err != nil {
		return nil // the decision under the lock names it
	}
	for i, e := range events {
		if err := ref.Apply(EventID(stream, cmd.Meta().CommandID, i), e); err != nil {
			return err
		}
	}
	reaches := rf.Reaches(ref, events[0])
	if reaches == nil {
		return nil
	}
	ids, err := rc.signatures.reached(ctx, l.store, rf, reaches)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := l.checkContractPrescription(ctx, rf, id, ref, events[0].BusinessDate()); err != nil {
			return err
		}
	}
	return nil
}

// checkContractPrescription is CheckReference on one contract, under its
// lock.
func (l *Ledger) checkContractPrescription(ctx context.Context, rf domain.ReferenceFacts, id uuid.UUID, ref domain.Reference, on domain.Date) error {
	mu := l.lock(domain.Stream(rf.Name(), id))
	mu.Lock()
	defer mu.Unlock()
	st, err := l.state(ctx, rf, id, false)
	if err != nil {
		return err
	}
	return rf.CheckReference(st.state, ref, on)
}

// signatureIndex is the signature event of every contract of a scheme,
// by contract, folded from the log up to after: what a reference fact that
// takes money back is matched against. Brought up to date by reading only
// the events after after.
type signatureIndex struct {
	mu     sync.Mutex
	after  eventstore.Position
	byID   map[uuid.UUID]domain.Event
	sorted []uuid.UUID
}

// reached brings the index up to date and returns, in signature order, the
// contracts whose signature reaches.
func (x *signatureIndex) reached(ctx context.Context, store eventstore.Store, rf domain.ReferenceFacts, reaches func(domain.Event) bool) ([]uuid.UUID, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.byID == nil {
		x.byID = map[uuid.UUID]domain.Event{}
	}
	err := eventstore.EachPageAfter(ctx, store, x.after, func(page []eventstore.Envelope) error {
		for _, env := range page {
			x.after = env.Position
			scheme, id, ok := domain.ParseStream(env.Stream)
			if !ok || scheme != rf.Name() || env.Revision != 0 {
				continue // a contract's first event is its signature
			}
			e, err := rf.DecodeEvent(env.Type, env.SchemaVersion, env.Data)
			if err != nil {
				return fmt.Errorf("%s revision 0: %w", env.Stream, err)
			}
			x.byID[id] = e
			x.sorted = append(x.sorted, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []uuid.UUID
	for _, id := range x.sorted {
		if reaches(x.byID[id]) {
			out = append(out, id)
		}
	}
	return out, nil
}
