package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/google/uuid"
)

// The reference streams (cpts: rulebook amendments, crisis recognitions)
// hold facts that the decisions of many contracts depend on. The command
// path keeps them folded in memory, reads their tail before each use (a
// read of a few bytes when nothing is new), and hands a decision the
// reference as it stood: the decision copies what it takes into account
// into the contract's stream (domain/cpts/reference.go).

// referenceCache is the folded reference streams, with their revisions and
// the commands they recorded.
type referenceCache struct {
	mu       sync.Mutex
	ref      cpts.Reference
	revision map[string]int64
	commands map[string]recorded
}

// rulesOf is the scheme that knows its rulebooks (the CPTS scheme).
type rulesOf interface{ Rules() *cpts.Rules }

// cptsRules returns the rulebooks of the CPTS scheme served, if it is.
func (l *Ledger) cptsRules() (*cpts.Rules, bool) {
	for _, s := range l.opts.Schemes {
		if r, ok := s.(rulesOf); ok && s.Name() == cpts.Scheme {
			return r.Rules(), true
		}
	}
	return nil, false
}

// Reference returns the reference streams as they stand in the store.
func (l *Ledger) Reference(ctx context.Context) (*cpts.Reference, error) {
	rc := &l.reference
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := l.refreshReference(ctx); err != nil {
		return nil, err
	}
	return rc.ref.Clone(), nil
}

// refreshReference folds what the reference streams gained since last
// read. The caller holds l.reference.mu.
func (l *Ledger) refreshReference(ctx context.Context) error {
	rc := &l.reference
	if rc.revision == nil {
		rc.revision = map[string]int64{cpts.RulebooksStream: -1, cpts.CrisesStream: -1}
		rc.commands = map[string]recorded{}
	}
	for _, stream := range []string{cpts.RulebooksStream, cpts.CrisesStream} {
		for {
			from := uint64(rc.revision[stream] + 1)
			envs, err := l.store.ReadStream(ctx, stream, from, 256)
			if err != nil {
				return fmt.Errorf("read %s: %w", stream, err)
			}
			for _, env := range envs {
				e, err := cpts.DecodeEvent(env.Type, env.SchemaVersion, env.Data)
				if err != nil {
					return fmt.Errorf("%s revision %d: %w", stream, env.Revision, err)
				}
				if err := rc.ref.Apply(env.EventID, e); err != nil {
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

// withReference gives a CPTS DecideDuePayments the reference as it stands.
func (l *Ledger) withReference(ctx context.Context, scheme domain.Scheme, cmd domain.Command) (domain.Command, error) {
	d, ok := cmd.(domain.DecideDuePayments)
	if !ok || scheme.Name() != cpts.Scheme {
		return cmd, nil
	}
	if _, ok := scheme.(rulesOf); !ok {
		return cmd, nil
	}
	ref, err := l.Reference(ctx)
	if err != nil {
		return nil, err
	}
	d.Reference = ref
	return d, nil
}

// isReferenceCommand tells the command types of the reference streams.
func isReferenceCommand(typ string) bool { return slices.Contains(cpts.ReferenceCommands(), typ) }

// submitReference decodes, decides and appends a command of a reference
// stream, with the same guarantees as a contract's: idempotent by command
// id, OK only once durable, optimistic concurrency on the stream.
func (l *Ledger) submitReference(ctx context.Context, actor string, line []byte, h domain.Header) (Result, error) {
	rules, ok := l.cptsRules()
	if !ok {
		return Rejected(h.CommandID, domain.UnknownCommand(h.Type, "SignContract")), nil
	}
	cmd, err := cpts.DecodeReferenceCommand(line, rules.Calendar())
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
	if rc, ok := cmd.(cpts.RecogniseCrisis); ok && rc.ContractID != nil {
		if err := l.checkCrisisContract(ctx, rc.CrisisRecognised); err != nil {
			var re *domain.RejectedError
			if errors.As(err, &re) {
				return Rejected(h.CommandID, err), nil
			}
			return Result{}, err
		}
	}
	stream := cpts.ReferenceStream(h.Type)
	// A back-dated act is refused unless recorded already (its retry is a
	// duplicate): decideReference says which, and its prescription is not
	// checked.
	if err := l.checkPrescription(ctx, rules, stream, cmd, backdated); err != nil {
		var re *domain.RejectedError
		if errors.As(err, &re) {
			return Rejected(h.CommandID, err), nil
		}
		return Result{}, err
	}
	mu := l.lock(stream)
	mu.Lock()
	defer mu.Unlock()
	for attempt := 0; ; attempt++ {
		events, expected, done, err := l.decideReference(ctx, rules, stream, cmd, print, backdated)
		if err != nil || done != nil {
			if done != nil {
				return *done, nil
			}
			return Result{}, err
		}
		data, err := Envelopes(stream, cmd.Meta().CommandID, actor, events)
		if err != nil {
			return Result{}, err
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
		case errors.As(err, &wre) && attempt < maxConflictRetries:
			continue
		case err != nil:
			return Result{}, fmt.Errorf("append to %s: %w", stream, err)
		}
		types := make([]string, len(events))
		for i, e := range events {
			types[i] = e.EventType()
		}
		return accepted(cmd.Meta().CommandID, types, ar.Duplicate), nil
	}
}

// decideReference reads the reference up to date and decides the command
// on it: the events and the revision to append at (nil: the stream is
// new), or done, the result of a command already recorded or rejected.
func (l *Ledger) decideReference(ctx context.Context, rules *cpts.Rules, stream string, cmd domain.Command, print domain.CommandPrint, backdated error) (events []domain.Event, expected *eventstore.ExpectedRevision, done *Result, err error) {
	rc := &l.reference
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := l.refreshReference(ctx); err != nil {
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
	events, err = cpts.DecideReference(&rc.ref, rules, cmd)
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

// checkCrisisContract refuses a recognition for one contract that is not a
// CPTS contract of the ARS that recognises the crisis.
func (l *Ledger) checkCrisisContract(ctx context.Context, c cpts.CrisisRecognised) error {
	scheme, _ := l.cptsScheme()
	mu := l.lock(domain.Stream(cpts.Scheme, *c.ContractID))
	mu.Lock()
	st, err := l.state(ctx, scheme, *c.ContractID, false)
	var signed bool
	var ars string
	if contract, ok := st.state.(*cpts.Contract); err == nil && ok {
		signed, ars = contract.Signed, contract.Terms.ARS
	}
	mu.Unlock()
	if err != nil {
		return err
	}
	switch {
	case !signed:
		return domain.Reject(domain.CodeContractNotFound, "contract_id", fmt.Sprintf("no CPTS contract %s has been signed", *c.ContractID))
	case !cpts.SameARS(ars, c.ARS):
		return domain.Reject(domain.CodeWrongContract, "contract_id", fmt.Sprintf("contract %s is followed by %s, not by %s", *c.ContractID, ars, c.ARS))
	}
	return nil
}

// checkPrescription applies the correction rules' prescription to the
// reference facts that can take money back — a crisis recognition
// corrected (ended, shortened, withdrawn) and a retroactive amendment —
// on every CPTS contract they reach: one whose settled year would be
// regularised by recovering money decided more than the rulebook's
// recovery_prescription_years before the fact's date refuses it
// (prescribed). It reads the log's signatures to find those contracts: a
// rare command, checked before the stream's lock, and decided again under
// it (a contract changed meanwhile is judged at its next decision).
func (l *Ledger) checkPrescription(ctx context.Context, rules *cpts.Rules, stream string, cmd domain.Command, backdated error) error {
	if backdated != nil {
		return nil // refused, or a duplicate, under the stream's lock
	}
	switch c := cmd.(type) {
	case cpts.CorrectCrisisRecognition:
	case cpts.PublishRulebookAmendment:
		if !c.Retroactive {
			return nil // it fills amounts not published, or rules lines dated after its publication: nothing to take back
		}
	default:
		return nil
	}
	ref, err := l.Reference(ctx)
	if err != nil {
		return err
	}
	events, err := cpts.DecideReference(ref, rules, cmd)
	if err != nil {
		return nil // the decision under the lock names it
	}
	for i, e := range events {
		if err := ref.Apply(EventID(stream, cmd.Meta().CommandID, i), e); err != nil {
			return err
		}
	}
	reaches := reachedBy(ref, events[0])
	var ids []uuid.UUID
	err = eventstore.EachPage(ctx, l.store, func(page []eventstore.Envelope) error {
		for _, env := range page {
			if env.Type != cpts.TypeContractSigned {
				continue
			}
			id, ok := cpts.ContractOfStream(env.Stream)
			var s cpts.ContractSigned
			if ok && json.Unmarshal(env.Data, &s) == nil && reaches(s) {
				ids = append(ids, id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	scheme, _ := l.cptsScheme()
	for _, id := range ids {
		if err := l.checkContractPrescription(ctx, scheme, id, ref, events[0].BusinessDate()); err != nil {
			return err
		}
	}
	return nil
}

// reachedBy tells the contracts, by their signature, that a reference
// fact can reach: those of the recognition's ARS (or its one contract), any
// for an amendment. Contract.CheckReference judges each.
func reachedBy(ref *cpts.Reference, e domain.Event) func(cpts.ContractSigned) bool {
	switch e := e.(type) {
	case cpts.CrisisRecognitionCorrected:
		i := slices.IndexFunc(ref.Recognitions, func(r cpts.Recognition) bool { return r.ID == e.Corrects })
		if i < 0 {
			return func(cpts.ContractSigned) bool { return false }
		}
		r := ref.Recognitions[i]
		return func(s cpts.ContractSigned) bool {
			return cpts.SameARS(s.ARS, r.ARS) && (r.ContractID == nil || *r.ContractID == s.ContractID)
		}
	case cpts.RulebookAmendmentPublished:
		// Every contract: a correction of its terms may have moved it to
		// a tier the amendment sets since its signature.
		return func(cpts.ContractSigned) bool { return true }
	}
	return func(cpts.ContractSigned) bool { return false }
}

// checkContractPrescription is CheckReference on one contract, under its
// lock.
func (l *Ledger) checkContractPrescription(ctx context.Context, scheme domain.Scheme, id uuid.UUID, ref *cpts.Reference, on domain.Date) error {
	mu := l.lock(domain.Stream(cpts.Scheme, id))
	mu.Lock()
	defer mu.Unlock()
	st, err := l.state(ctx, scheme, id, false)
	if err != nil {
		return err
	}
	c, ok := st.state.(*cpts.Contract)
	if !ok {
		return nil
	}
	return c.CheckReference(ref, on)
}

// cptsScheme returns the CPTS scheme served.
func (l *Ledger) cptsScheme() (domain.Scheme, bool) {
	for _, s := range l.opts.Schemes {
		if s.Name() == cpts.Scheme {
			return s, true
		}
	}
	return nil, false
}
