// Package app applies commands to the ledger: it loads a contract's state
// from its stream, lets the domain decide, and appends the resulting events
// with optimistic concurrency. It depends on the eventstore contract only,
// never on a backend.
//
// Idempotency: event ids derive from the stream and the command id
// (UUIDv5), and a command id already recorded in the contract's stream
// returns its original result without deciding again. Re-submitting a file
// is therefore safe, and a retry after a crash appends nothing twice.
package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
)

// EventID returns the id of the i-th event produced by a command on a
// stream (domain.EventID).
func EventID(stream, commandID string, i int) uuid.UUID { return domain.EventID(stream, commandID, i) }

// Result is the outcome of one command, as `ledger submit` prints it.
type Result struct {
	CommandID string     `json:"command_id"`
	OK        bool       `json:"ok"`
	Events    []string   `json:"events,omitempty"`
	Duplicate bool       `json:"duplicate,omitempty"`
	Error     *ErrorBody `json:"error,omitempty"`
	// Type is the command's type when it is one of the schemes' (a label
	// for metrics that what a client types cannot multiply), else "". It
	// is not part of the result's JSON.
	Type string `json:"-"`
}

// ErrorBody is a rejected command's error: a stable code, a message naming
// the field and the rule, and every violation found.
type ErrorBody struct {
	Code       string             `json:"code"`
	Message    string             `json:"message"`
	Violations []domain.Violation `json:"violations,omitempty"`
}

// MarshalJSON keeps "events":[] on success, as the interface promises.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	if r.OK {
		return json.Marshal(struct {
			plain
			Events []string `json:"events"`
		}{plain(r), nonNil(r.Events)})
	}
	return json.Marshal(plain(r))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Options configure a Ledger.
type Options struct {
	// Actor is recorded on every event (who submitted the command).
	Actor string
	// Today returns the day commands are recorded on, which bounds their
	// business dates (domain.Calendar.Latest) and dates their acts
	// (domain.CheckRecordingDay); default: today in UTC. The ledger's
	// clock, never a client's: no command or flag of submit or serve sets
	// it.
	Today func() domain.Date
	// ReplayHistory takes every command as recorded on its own dates: a
	// history generated or restored to be replayed as it happened (ledger
	// demo, tests of generated histories), where act dates years before
	// the clock are the point. It is never set for commands of a client.
	ReplayHistory bool
	// Schemes are the payment schemes served (default: CPTS and assistant,
	// with their embedded rulebooks).
	Schemes []domain.Scheme
	// CacheContracts bounds the contracts kept in memory between commands
	// (default 16 384, twice the demo's national ledger: a file submitted in
	// time order touches every contract in turn). A cached state is checked
	// by the append's expected revision, so a stale one costs a reload,
	// never a wrong decision.
	CacheContracts int
	// Locate, if set, finds the stream of an event by its id anywhere in the
	// ledger: a correction naming an event of another contract is then
	// rejected as such (wrong_event) rather than as unknown.
	Locate func(ctx context.Context, id uuid.UUID) (stream string, ok bool, err error)
	// Erasing lets ErasePersonalData through: set by `ledger erase` only,
	// which destroys the key once every contract recorded it. Sent any
	// other way (ledger submit, the API) it is refused: recorded without
	// the key destroyed, the contract would stop while its data stay.
	Erasing bool
}

// DefaultSchemes are the schemes of the ledger.
func DefaultSchemes() []domain.Scheme { return []domain.Scheme{cpts.Default(), assistant.Default()} }

// Ledger applies commands to an event store.
type Ledger struct {
	store eventstore.Store
	opts  Options

	mu    sync.Mutex
	cache map[string]*loaded
	// locks serialise the commands of one contract inside this process:
	// a cached state is read by Decide and changed by Apply, so two
	// goroutines must not hold it at once. Other processes are kept apart
	// by the expected revision of the append.
	locks [256]sync.Mutex
	// types are the command types of the schemes (Result.Type).
	types map[string]bool
	// unclaimedStreams: the store said it holds streams created without a
	// claim, or cannot tell (see appendTo).
	unclaimedStreams atomic.Bool
	// references are the reference streams folded, by scheme
	// (reference.go).
	references map[string]*referenceCache
}

func (l *Ledger) lock(stream string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(stream))
	return &l.locks[h.Sum32()%uint32(len(l.locks))]
}

// loaded is a contract's state with the revision it was folded to and the
// commands already recorded in it.
type loaded struct {
	state    domain.State
	revision int64 // eventstore.NoRevision when the stream is empty
	commands map[string]recorded
}

// recorded is what a contract's stream holds of a command: the types of
// the events it recorded, and its digest (nil for events of before digests).
type recorded struct {
	types  []string
	digest []byte
}

// New returns a Ledger over store.
func New(store eventstore.Store, opts Options) *Ledger {
	if opts.Schemes == nil {
		opts.Schemes = DefaultSchemes()
	}
	if opts.CacheContracts <= 0 {
		opts.CacheContracts = 16384
	}
	if opts.Actor == "" {
		opts.Actor = "ledger"
	}
	l := &Ledger{store: store, opts: opts, cache: map[string]*loaded{}, types: map[string]bool{}, references: map[string]*referenceCache{}}
	for _, typ := range l.CommandTypes() {
		l.types[typ] = true
	}
	return l
}

// Submit decodes and applies one command line. A command that breaks a rule
// comes back as a Result with OK false; the error is for failures of the
// store (the command may be retried: it is idempotent). When Submit returns
// OK, the events are durable.
func (l *Ledger) Submit(ctx context.Context, line []byte) (Result, error) {
	return l.SubmitAs(ctx, l.opts.Actor, line)
}

// SubmitAs is Submit with the events recorded as the actor's: the HTTP API
// passes the name of the token that authenticated the request.
func (l *Ledger) SubmitAs(ctx context.Context, actor string, line []byte) (Result, error) {
	h, err := domain.PeekHeader(line)
	if err != nil {
		return Rejected(h.CommandID, err), nil
	}
	if err := l.checkAhead(line); err != nil {
		return Rejected(h.CommandID, err), nil
	}
	if h.Type == assistant.CmdErasePersonalData && !l.opts.Erasing {
		return Rejected(h.CommandID, domain.Reject(assistant.CodeEraseWithLedgerErase, "type",
			"ErasePersonalData is recorded by ledger erase, which destroys the doctor's key once every contract of theirs has recorded it (docs/privacy.md)")), nil
	}
	var res Result
	if l.isReferenceCommand(h.Type) {
		res, err = l.submitReference(ctx, actor, line, h)
	} else {
		res, err = l.submitHeader(ctx, actor, line, h)
	}
	if l.types[h.Type] {
		res.Type = h.Type
	}
	return res, err
}

// submitHeader decodes and applies a command line whose header is h.
func (l *Ledger) submitHeader(ctx context.Context, actor string, line []byte, h domain.Header) (Result, error) {
	scheme, err := l.schemeOf(ctx, h)
	if err != nil {
		var re *domain.RejectedError
		if errors.As(err, &re) {
			return Rejected(h.CommandID, err), nil
		}
		return Result{}, err
	}
	cmd, err := scheme.DecodeCommand(line)
	if err != nil {
		return Rejected(h.CommandID, err), nil
	}
	print, err := domain.NewCommandPrint(line, cmd)
	if err != nil {
		return Rejected(h.CommandID, err), nil
	}
	// A back-dated act is refused after the command id is looked up: the
	// retry, a day later, of a command recorded is a duplicate.
	cmd, backdated := l.stampRecordingDay(cmd)
	if a, ok := cmd.(domain.Attributed); ok {
		// Four eyes: who records an account and who confirms it are
		// decided on, and come from the token or --actor, never the line.
		cmd = a.Attribute(actor)
	}
	return l.apply(ctx, scheme, cmd, print, actor, backdated)
}

// schemeOf finds the scheme of a command: the one that owns its type, or,
// for the shared types, the one whose stream holds the contract.
func (l *Ledger) schemeOf(ctx context.Context, h domain.Header) (domain.Scheme, error) {
	for _, s := range l.opts.Schemes {
		if slices.Contains(s.Commands(), h.Type) {
			return s, nil
		}
	}
	if !slices.Contains(domain.SharedCommands(), h.Type) {
		return nil, domain.UnknownCommand(h.Type, "SignContract")
	}
	id, err := uuid.Parse(h.ContractID)
	if err != nil || len(h.ContractID) != 36 {
		// Let the scheme's decoder name every field at fault.
		return l.opts.Schemes[0], nil
	}
	// A contract in memory answers without reading the store (an empty
	// stream cached by a rejected signature says nothing).
	l.mu.Lock()
	for _, s := range l.opts.Schemes {
		if st, cached := l.cache[domain.Stream(s.Name(), id)]; cached && st.revision != eventstore.NoRevision {
			l.mu.Unlock()
			return s, nil
		}
	}
	l.mu.Unlock()
	s, err := l.streamScheme(ctx, id, "")
	if err != nil || s != nil {
		return s, err
	}
	return nil, domain.Reject(domain.CodeContractNotFound, "contract_id", fmt.Sprintf("no contract %s has been signed", id))
}

// streamScheme returns the scheme, other than skip, whose stream holds the
// contract, or nil.
func (l *Ledger) streamScheme(ctx context.Context, id uuid.UUID, skip string) (domain.Scheme, error) {
	for _, s := range l.opts.Schemes {
		if s.Name() == skip {
			continue
		}
		stream := domain.Stream(s.Name(), id)
		evs, err := l.store.ReadStream(ctx, stream, 0, 1)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		if len(evs) > 0 {
			return s, nil
		}
	}
	return nil, nil
}

// Rejected is the result of a command that breaks a rule: nothing was
// written. It is built once, from the rejection, and never carries events.
func Rejected(commandID string, err error) Result {
	body := &ErrorBody{Code: domain.CodeRejected, Message: err.Error()}
	var re *domain.RejectedError
	if errors.As(err, &re) {
		body = &ErrorBody{Code: re.Code(), Message: re.Error(), Violations: re.Violations}
	}
	return Result{CommandID: commandID, Error: body}
}

// accepted is the result of a command whose events are durably stored
// (or were already: duplicate), or that had nothing to record.
func accepted(commandID string, events []string, duplicate bool) Result {
	return Result{CommandID: commandID, OK: true, Events: nonNil(events), Duplicate: duplicate}
}

// maxConflictRetries bounds the reload-and-decide-again loop when another
// writer appends to the same contract at the same moment.
const maxConflictRetries = 8

// apply decides a decoded command and appends its events. The result is
// built once, from what happened: OK only when the events are durable or
// were stored already, a rejection otherwise, never both.
func (l *Ledger) apply(ctx context.Context, scheme domain.Scheme, cmd domain.Command, print domain.CommandPrint, actor string, backdated error) (Result, error) {
	meta := cmd.Meta()
	stream := domain.Stream(scheme.Name(), meta.ContractID)
	cmd, err := l.withReference(ctx, scheme, cmd)
	if err != nil {
		return Result{}, err
	}
	mu := l.lock(stream)
	mu.Lock()
	defer mu.Unlock()
	if c, ok := cmd.(domain.Correction); ok {
		if err := l.resolve(ctx, scheme, stream, c.Correction()); err != nil {
			return Result{}, err
		}
	}
	for attempt := 0; ; attempt++ {
		d, done, err := l.decideOnce(ctx, scheme, stream, cmd, print, backdated, attempt)
		if errors.Is(err, errStale) {
			continue // decided again on the stream as stored
		}
		if err != nil || done != nil {
			if done != nil {
				return *done, nil
			}
			return Result{}, err
		}
		data, err := Envelopes(stream, meta.CommandID, actor, d.events)
		if err != nil {
			return Result{}, err
		}
		if err := seal(scheme, d.st.state, d.events, data); err != nil {
			var re *domain.RejectedError
			if errors.As(err, &re) {
				return Rejected(meta.CommandID, err), nil
			}
			return Result{}, err
		}
		digest, err := keyDigest(scheme, d.st.state, d.events, print.Digest())
		if err != nil {
			return Result{}, err
		}
		for i := range data {
			data[i].CommandDigest = digest
		}
		ar, err := l.store.Append(ctx, stream, d.expected, data, d.opts...)
		if retry, res, err := l.appendFailed(stream, meta, d, err, attempt); retry {
			continue
		} else if res != nil || err != nil {
			return derefResult(res), err
		}
		return l.stored(stream, d.st, d.presumed, d.events, ar, meta.CommandID, digest), nil
	}
}

// decision is what one attempt decided: the events, the contract's state
// they were decided on (presumed new, or read), and how to append them.
type decision struct {
	st       *loaded
	events   []domain.Event
	presumed bool
	expected eventstore.ExpectedRevision
	opts     []eventstore.AppendOption
	follow   following
}

// decideOnce decides the command on the contract's state as it stands:
// the decision to append, or done, the result of a command that records
// nothing (a duplicate, a rejection, nothing due).
func (l *Ledger) decideOnce(ctx context.Context, scheme domain.Scheme, stream string, cmd domain.Command, print domain.CommandPrint, backdated error, attempt int) (decision, *Result, error) {
	meta := cmd.Meta()
	reject := func(err error) (decision, *Result, error) {
		r := Rejected(meta.CommandID, err)
		return decision{}, &r, nil
	}
	var d decision
	d.st, d.events, d.presumed = l.presumeNew(scheme, stream, cmd, attempt)
	if !d.presumed {
		var err error
		if d.st, err = l.state(ctx, scheme, meta.ContractID, attempt > 0); err != nil {
			return d, nil, err
		}
		if rec, done := d.st.commands[meta.CommandID]; done {
			switch s, known := same(scheme, d.st.state, print, rec.digest); {
			case known && !s:
				return reject(domain.CommandIDReused(meta.CommandID, rec.types[0]))
			case known:
				r := accepted(meta.CommandID, rec.types, true)
				return d, &r, nil
			}
		}
	}
	if err := checkCPAM(ctx, d.st, cmd); err != nil {
		return reject(err)
	}
	if backdated != nil {
		return reject(backdated)
	}
	var err error
	d.expected, d.opts, err = l.appendTo(ctx, scheme, meta.ContractID, d.st)
	var re *domain.RejectedError
	if errors.As(err, &re) {
		return reject(err)
	}
	if err != nil {
		return d, nil, err
	}
	if !d.presumed {
		if d.events, err = scheme.Decide(d.st.state, cmd); err != nil {
			if attempt == 0 && l.stale(ctx, stream, d.st) {
				return d, nil, errStale
			}
			return reject(err)
		}
		if len(d.events) == 0 {
			r := accepted(meta.CommandID, nil, false)
			return d, &r, nil
		}
	}
	if d.st.revision == eventstore.NoRevision {
		// A new aggregate that follows another (a contract its letter
		// of intent): judged against it, claiming it with the stream.
		d.follow, err = l.follows(ctx, scheme, cmd, attempt)
		if errors.As(err, &re) {
			return reject(err)
		} else if err != nil {
			return d, nil, err
		}
		if d.follow.claim != "" {
			d.opts = append(d.opts, eventstore.Claim(d.follow.claim))
		}
	}
	return d, nil, nil
}

// appendFailed classifies the error of an append (nil: none): retry the
// attempt (another writer came first), or the command's result (the id is
// another scheme's contract), or an error of the store.
func (l *Ledger) appendFailed(stream string, meta domain.CommandMeta, d decision, err error, attempt int) (retry bool, res *Result, _ error) {
	presumed := d.presumed
	var wre *eventstore.WrongRevisionError
	var ce *eventstore.ClaimedError
	switch {
	case err == nil:
		return false, nil, nil
	case (errors.As(err, &wre) || presumed && errors.Is(err, eventstore.ErrEventIDConflict)) && attempt < maxConflictRetries:
		// Someone else wrote, or the contract presumed new was there
		// (with this command id, on other terms: a conflict): reload
		// and decide again — a command id already recorded is a
		// duplicate.
		return true, nil, nil
	case errors.Is(err, eventstore.ErrUnclaimedStreams) && attempt < maxConflictRetries:
		// The store holds streams that claimed nothing (or cannot
		// tell): read the other schemes' streams from now on. A count
		// of such streams never falls, so this is for good.
		l.unclaimedStreams.Store(true)
		return true, nil, nil
	case errors.As(err, &ce) && d.follow.claim != "" && ce.Key == d.follow.claim:
		l.forget(stream)
		r := Rejected(meta.CommandID, d.follow.taken(ce.Owner))
		return false, &r, nil
	case errors.As(err, &ce):
		l.forget(stream)
		owner, _, _ := strings.Cut(ce.Owner, "-")
		r := Rejected(meta.CommandID, domain.ContractIDTaken(meta.ContractID, owner))
		return false, &r, nil
	}
	l.forget(stream)
	return false, nil, fmt.Errorf("append to %s: %w", stream, err)
}

// following is what a new aggregate follows (domain.Follower): the key it
// claims for it, and the rejection when another claimed it first.
type following struct {
	claim string
	taken func(owner string) error
}

// follows judges a command that creates an aggregate following another
// (a contract naming its letter of intent) against that aggregate's state,
// and returns the key to claim with the new stream. A rejection is a
// *domain.RejectedError.
func (l *Ledger) follows(ctx context.Context, scheme domain.Scheme, cmd domain.Command, attempt int) (following, error) {
	f, ok := scheme.(domain.Follower)
	if !ok {
		return following{}, nil
	}
	id, claim, ok := f.Follows(cmd)
	if !ok {
		return following{}, nil
	}
	st, err := l.state(ctx, scheme, id, attempt > 0)
	if err != nil {
		return following{}, err
	}
	if err := f.CheckFollows(cmd, st.state); err != nil {
		return following{}, err
	}
	return following{claim: claim, taken: func(owner string) error { return f.Followed(id, owner) }}, nil
}

func derefResult(r *Result) Result {
	if r == nil {
		return Result{}
	}
	return *r
}

// stored is the result of a command whose events the store holds now, and
// keeps the contract's state in memory up to them.
func (l *Ledger) stored(stream string, st *loaded, presumed bool, events []domain.Event, ar eventstore.AppendResult, commandID string, digest []byte) Result {
	types := make([]string, len(events))
	for i, e := range events {
		types[i] = e.EventType()
	}
	if ar.Duplicate {
		// Stored by an earlier attempt whose answer was lost.
		l.forget(stream)
		return accepted(commandID, types, true)
	}
	if presumed {
		l.keep(stream, st)
	}
	l.remember(stream, st, events, int64(ar.LastRevision), commandID, recorded{types, digest})
	return accepted(commandID, types, false)
}

// appendTo returns how to append to the contract's stream in state st: at
// its revision, or, for a new stream, expecting none and claiming the
// contract's id. The claim refuses an id that another scheme's contract
// claimed; a contract signed before ids were claimed holds its id without
// a claim, so the other schemes' streams must be read — unless the store
// says that every stream claimed its key (OnlyIfEveryStreamClaimed), which
// the append then relies on. Once the store says otherwise, they are read
// for every new contract. An id that is another scheme's contract is a
// rejection (contract_id_taken).
func (l *Ledger) appendTo(ctx context.Context, scheme domain.Scheme, id uuid.UUID, st *loaded) (eventstore.ExpectedRevision, []eventstore.AppendOption, error) {
	if st.revision != eventstore.NoRevision {
		return eventstore.Exact(uint64(st.revision)), nil, nil
	}
	claim := eventstore.Claim(domain.ContractClaim(id))
	if !l.unclaimedStreams.Load() {
		return eventstore.NoStream(), []eventstore.AppendOption{claim, eventstore.OnlyIfEveryStreamClaimed()}, nil
	}
	other, err := l.streamScheme(ctx, id, scheme.Name())
	if err == nil && other != nil {
		err = domain.ContractIDTaken(id, other.Name())
	}
	return eventstore.NoStream(), []eventstore.AppendOption{claim}, err
}

// presumeNew decides the command on an empty state, without reading its
// stream, when its contract is not in memory and this is the first attempt.
// Only a signature decides anything on an empty state (domain.CheckTarget),
// and a signature's stream is nearly always new: reading it would cost a
// read transaction for nothing. The append then expects no stream, so a
// stream that has events after all fails it (a wrong revision, or an
// event-id conflict when its command id was recorded on other terms) and
// the next attempt reads the stream and decides again. presumed is false for
// every command that needs a contract: those read it as before.
func (l *Ledger) presumeNew(scheme domain.Scheme, stream string, cmd domain.Command, attempt int) (st *loaded, events []domain.Event, presumed bool) {
	if attempt > 0 {
		return nil, nil, false
	}
	l.mu.Lock()
	_, cached := l.cache[stream]
	l.mu.Unlock()
	if cached {
		return nil, nil, false
	}
	id := cmd.Meta().ContractID
	st = &loaded{state: scheme.NewState(id), revision: eventstore.NoRevision, commands: map[string]recorded{}}
	events, err := scheme.Decide(st.state, cmd)
	if err != nil || len(events) == 0 {
		return nil, nil, false
	}
	return st, events, true
}

// resolve finds the event a correction names: in the contract's stream,
// else (to tell "another contract's" from "unknown") anywhere, through
// Options.Locate.
func (l *Ledger) resolve(ctx context.Context, scheme domain.Scheme, stream string, m *domain.CorrectionMeta) error {
	m.Target = domain.EventRef{ID: m.Corrects}
	err := ReadStream(ctx, l.store, scheme, stream, func(env eventstore.Envelope, e domain.Event) error {
		if env.EventID == m.Corrects {
			on, _ := domain.ParseDate(env.OccurredOn)
			m.Target = domain.EventRef{ID: env.EventID, Found: true, Type: env.Type, OccurredOn: on, Event: e}
		}
		return nil
	})
	if err != nil || m.Target.Found || l.opts.Locate == nil {
		return err
	}
	other, ok, err := l.opts.Locate(ctx, m.Corrects)
	if ok {
		m.Target.OtherStream = other
	}
	return err
}

// Envelopes turns the events a command produced into what the store
// appends: ids derived from the stream and command id, business dates, and
// the command as correlation and causation.
func Envelopes(stream, commandID, actor string, events []domain.Event) ([]eventstore.EventData, error) {
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		body, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", e.EventType(), err)
		}
		data[i] = eventstore.EventData{
			ID: EventID(stream, commandID, i), Type: e.EventType(), SchemaVersion: domain.SchemaVersion,
			OccurredOn: e.BusinessDate().String(), Actor: actor, CommandID: commandID,
			CorrelationID: commandID, CausationID: commandID, Data: body,
		}
	}
	return data, nil
}

// seal seals the personal fields of the events' data before they are
// appended, when the scheme does (domain.Sealer; docs/privacy.md): the key
// is durable in the key store before the events are.
func seal(scheme domain.Scheme, state domain.State, events []domain.Event, data []eventstore.EventData) error {
	s, ok := scheme.(domain.Sealer)
	if !ok {
		return nil
	}
	ids, bodies := make([]uuid.UUID, len(data)), make([][]byte, len(data))
	for i := range data {
		ids[i], bodies[i] = data[i].ID, data[i].Data
	}
	if err := s.SealEvents(state, events, ids, bodies); err != nil {
		return err
	}
	for i := range data {
		data[i].Data = bodies[i]
	}
	return nil
}

// keyDigest is the digest stored with a command's events: keyed by the
// person's key where the scheme seals personal data (domain.Sealer).
func keyDigest(scheme domain.Scheme, state domain.State, events []domain.Event, digest []byte) ([]byte, error) {
	if s, ok := scheme.(domain.Sealer); ok {
		return s.KeyDigest(state, events, digest)
	}
	return digest, nil
}

// same tells whether a stored digest is the command's: a keyed one is
// compared with the command's digest keyed alike. known is false when no
// key keys it any more (the person erased): the command is then decided,
// and the contract refuses it.
func same(scheme domain.Scheme, state domain.State, print domain.CommandPrint, stored []byte) (same, known bool) {
	if !domain.IsKeyedDigest(stored) {
		return print.Same(stored), true
	}
	keyed, err := keyDigest(scheme, state, nil, print.Digest())
	if err != nil || !domain.IsKeyedDigest(keyed) {
		return false, false
	}
	return bytes.Equal(keyed, stored), true
}

// WithKeys returns the schemes, each that keeps personal data sealing and
// opening them with keys (the data directory's key store).
func WithKeys(schemes []domain.Scheme, keys domain.Keyring) []domain.Scheme {
	out := make([]domain.Scheme, len(schemes))
	for i, s := range schemes {
		out[i] = s
		if k, ok := s.(interface {
			WithKeys(domain.Keyring) domain.Scheme
		}); ok {
			out[i] = k.WithKeys(keys)
		}
	}
	return out
}

// state returns the contract's state, from the cache unless reload.
func (l *Ledger) state(ctx context.Context, scheme domain.Scheme, id uuid.UUID, reload bool) (*loaded, error) {
	stream := domain.Stream(scheme.Name(), id)
	if !reload {
		l.mu.Lock()
		st, ok := l.cache[stream]
		l.mu.Unlock()
		if ok {
			return st, nil
		}
	}
	st := &loaded{state: scheme.NewState(id), revision: eventstore.NoRevision, commands: map[string]recorded{}}
	err := ReadStream(ctx, l.store, scheme, stream, func(env eventstore.Envelope, e domain.Event) error {
		if err := st.state.Apply(e); err != nil {
			return err
		}
		st.revision = int64(env.Revision)
		rec := st.commands[env.CommandID]
		rec.types = append(rec.types, env.Type)
		if rec.digest == nil {
			rec.digest = env.CommandDigest
		}
		st.commands[env.CommandID] = rec
		return nil
	})
	if err != nil {
		return nil, err
	}
	l.keep(stream, st)
	return st, nil
}

// errStale: a command was rejected on a cached state that the store has
// moved past (another process, or another Ledger on the same store,
// appended since): it is decided again on the stream as stored.
var errStale = errors.New("the cached state is behind the store")

// stale tells whether the stream holds events after the cached state's
// revision. A rejection is judged on the stream as stored: an append
// would have found a cache behind it (its expected revision fails), a
// rejection appends nothing and would not — a confirmation made by
// another process, unseen, must not refuse a payment order. Read only
// when a command is rejected.
func (l *Ledger) stale(ctx context.Context, stream string, st *loaded) bool {
	evs, err := l.store.ReadStream(ctx, stream, uint64(st.revision+1), 1)
	return err == nil && len(evs) > 0
}

// keep puts a contract's state in the cache.
func (l *Ledger) keep(stream string, st *loaded) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.cache) >= l.opts.CacheContracts {
		// Evict one contract, the first the map's (randomised) order
		// gives: when more contracts are active than the cache holds,
		// most stay cached, where clearing it all would reload each one.
		for k := range l.cache {
			delete(l.cache, k)
			break
		}
	}
	l.cache[stream] = st
}

func (l *Ledger) forget(stream string) {
	l.mu.Lock()
	delete(l.cache, stream)
	l.mu.Unlock()
}

func (l *Ledger) remember(stream string, st *loaded, events []domain.Event, revision int64, commandID string, rec recorded) {
	for _, e := range events {
		if err := st.state.Apply(e); err != nil {
			// Decide produced it, so Apply accepts it; if not, drop the
			// cached state and let the next command reload.
			l.forget(stream)
			return
		}
	}
	st.revision = revision
	st.commands[commandID] = rec
}

// ReadStream reads a contract's stream in pages and decodes each event with
// its scheme.
func ReadStream(ctx context.Context, store eventstore.Store, scheme domain.Scheme, stream string, fn func(eventstore.Envelope, domain.Event) error) error {
	return eventstore.EachInStream(ctx, store, stream, func(envs []eventstore.Envelope) error {
		for _, env := range envs {
			e, err := scheme.DecodeEvent(env.Type, env.SchemaVersion, env.Data)
			if err != nil {
				return fmt.Errorf("%s revision %d: %w", stream, env.Revision, err)
			}
			if err := fn(env, e); err != nil {
				return fmt.Errorf("%s revision %d: %w", stream, env.Revision, err)
			}
		}
		return nil
	})
}

// today is the day the ledger records commands on: its own clock.
func (l *Ledger) today() domain.Date {
	if l.opts.Today != nil {
		return l.opts.Today()
	}
	return domain.DateOf(time.Now())
}

// stampRecordingDay hands a termination the day the ledger records it, on
// which the prescription of what it takes back is judged, and says whether
// the command's act is dated before that day (backdated: refused unless
// the command is recorded already; domain/recording.go).
func (l *Ledger) stampRecordingDay(cmd domain.Command) (stamped domain.Command, backdated error) {
	if l.opts.ReplayHistory {
		return cmd, nil
	}
	day := l.today()
	if t, ok := cmd.(domain.TerminateContract); ok {
		t.RecordedOn = day
		return t, nil
	}
	if s, ok := cmd.(domain.Stamped); ok {
		cmd = s.Stamp(day)
	}
	return cmd, domain.CheckRecordingDay(cmd, day)
}

// datedFields are the business dates of the commands, by their JSON name.
var datedFields = []string{"signed_on", "started_on", "deployed_on", "reported_on", "as_of", "terminated_on", "hired_on", "corrected_on", "date",
	"published_on", "recognised_on", "validated_on", "on", "joined_on"}

// checkAhead refuses a command dated further after the day it is recorded
// than the rulebooks allow (recording_margin_days), naming each such
// field: a decision as of 2099-12-01 would decide, today, payments of
// years that have not come.
func (l *Ledger) checkAhead(line []byte) error {
	today := l.today()
	cal := domain.CalendarOf(l.opts.Schemes)
	latest := cal.Latest(today)
	if !mayHoldDateAfter(line, latest.String()) {
		return nil // nearly every command: no second reading of the line
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(line, &fields) != nil {
		return nil // the decoder names what is wrong with it
	}
	var vs domain.Violations
	for _, name := range datedFields {
		var s string
		if raw, ok := fields[name]; !ok || json.Unmarshal(raw, &s) != nil {
			continue
		}
		// A date outside the calendar is the decoder's to name (date_out_of_range, with the calendar).
		if d, err := domain.ParseDate(s); err == nil && d.After(latest) && cal.Contains(d) {
			vs.Add(domain.CodeDateOutOfRange, name, fmt.Sprintf("%s is after %s: a command is dated at most %d days after the day it is recorded (rulebook recording_margin_days)",
				d, latest, cal.AheadDays))
		}
	}
	return vs.Err()
}

// mayHoldDateAfter tells, in one pass over the bytes, whether the line may
// hold a date after latest (YYYY-MM-DD): a quoted date later than it, or
// an escape (\u…), behind which a date could hide from a byte search.
// Only then is the line read again to name the field.
func mayHoldDateAfter(line []byte, latest string) bool {
	if bytes.Contains(line, []byte(`\u`)) {
		return true
	}
	for i := 0; i+11 < len(line); i++ {
		if line[i] != '"' || line[i+11] != '"' || line[i+5] != '-' || line[i+8] != '-' {
			continue
		}
		if d := line[i+1 : i+11]; string(d) > latest {
			return true
		}
	}
	return false
}

// cpamKey carries, in a submission's context, the one CPAM its identity
// may write (WithCPAM).
type cpamKey struct{}

// WithCPAM limits the commands submitted with ctx to the contracts of one
// CPAM: an agent limited to it. The limit is checked where the write
// happens — against the contract's state read under its stream's lock,
// the append expecting that very revision — so that no interleaving lets
// the command write another CPAM's contract (a check before the write
// could be overtaken by another agent signing that id meanwhile). A
// contract of another CPAM is answered as one that does not exist:
// contract_not_found, naming no CPAM.
func WithCPAM(ctx context.Context, cpam string) context.Context {
	return context.WithValue(ctx, cpamKey{}, cpam)
}

// partyOf is a contract state that knows its parties (both schemes').
type partyOf interface{ Party() (name, cpam string) }

// checkCPAM refuses a command on a contract outside the context's CPAM
// limit, from the state st read under the stream's lock; a signature is
// judged on the CPAM it names.
func checkCPAM(ctx context.Context, st *loaded, cmd domain.Command) error {
	limit, _ := ctx.Value(cpamKey{}).(string)
	if limit == "" {
		return nil
	}
	cpam := ""
	if sig, ok := cmd.(domain.Signature); ok && st.revision == eventstore.NoRevision {
		_, cpam = sig.Party()
	} else if p, ok := st.state.(partyOf); ok {
		_, cpam = p.Party()
	}
	if cpam == "" || cpam == limit {
		return nil // not signed: the command path answers contract_not_found itself
	}
	id := cmd.Meta().ContractID
	return domain.Reject(domain.CodeContractNotFound, "contract_id", fmt.Sprintf("no contract %s has been signed", id))
}

// SignedCPAM returns, for a line that signs a contract, the CPAM it names;
// ok is false for any other line, and for one that does not decode (the
// command path rejects it).
func (l *Ledger) SignedCPAM(line []byte) (cpam string, ok bool) {
	h, err := domain.PeekHeader(line)
	if err != nil {
		return "", false
	}
	for _, s := range l.opts.Schemes {
		if !slices.Contains(s.Commands(), h.Type) {
			continue
		}
		cmd, err := s.DecodeCommand(line)
		if err != nil {
			return "", false
		}
		if sig, isSig := cmd.(domain.Signature); isSig {
			_, cpam := sig.Party()
			return cpam, true
		}
	}
	return "", false
}

// CommandTypes lists every command type the ledger's schemes take.
func (l *Ledger) CommandTypes() []string {
	out := slices.Clone(domain.SharedCommands())
	for _, s := range l.opts.Schemes {
		out = append(out, s.Commands()...)
		if rf, ok := s.(domain.ReferenceFacts); ok {
			out = append(out, rf.ReferenceCommands()...)
		}
	}
	return out
}
