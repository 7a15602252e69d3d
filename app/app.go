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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/google/uuid"
)

// eventNamespace derives event ids: UUIDv5(namespace, stream/command/index).
var eventNamespace = uuid.MustParse("3b0e6f7c-1d2a-5e4b-8c9d-0a1b2c3d4e5f")

// EventID returns the id of the i-th event produced by a command on a
// stream. Including the stream makes ids unique across streams even when
// two contracts receive the same command id.
func EventID(stream, commandID string, i int) uuid.UUID {
	return uuid.NewSHA1(eventNamespace, fmt.Appendf(nil, "%s/%s/%d", stream, commandID, i))
}

// Result is the outcome of one command, as `ledger submit` prints it.
type Result struct {
	CommandID string     `json:"command_id"`
	OK        bool       `json:"ok"`
	Events    []string   `json:"events,omitempty"`
	Duplicate bool       `json:"duplicate,omitempty"`
	Error     *ErrorBody `json:"error,omitempty"`
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
	// Rules are the CPTS rulebooks (default: the embedded ones).
	Rules *cpts.Rules
	// CacheContracts bounds the contracts kept in memory between commands
	// (default 4096); a cached state is checked by the append's expected
	// revision, so a stale one costs a reload, never a wrong decision.
	CacheContracts int
}

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
}

func (l *Ledger) lock(stream string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(stream))
	return &l.locks[h.Sum32()%uint32(len(l.locks))]
}

// loaded is a contract's state with the revision it was folded to and the
// commands already recorded in it.
type loaded struct {
	contract *cpts.Contract
	revision int64 // eventstore.NoRevision when the stream is empty
	commands map[string][]string
}

// New returns a Ledger over store.
func New(store eventstore.Store, opts Options) *Ledger {
	if opts.Rules == nil {
		opts.Rules = cpts.DefaultRules()
	}
	if opts.CacheContracts <= 0 {
		opts.CacheContracts = 4096
	}
	if opts.Actor == "" {
		opts.Actor = "ledger"
	}
	return &Ledger{store: store, opts: opts, cache: map[string]*loaded{}}
}

// Submit decodes and applies one command line. A command that breaks a rule
// comes back as a Result with OK false; the error is for failures of the
// store (the command may be retried: it is idempotent). When Submit returns
// OK, the events are durable.
func (l *Ledger) Submit(ctx context.Context, line []byte) (Result, error) {
	h, _ := domain.PeekHeader(line)
	res := Result{CommandID: h.CommandID}
	cmd, err := cpts.DecodeCommand(line)
	if err != nil {
		return rejected(res, err), nil
	}
	return l.Apply(ctx, cmd)
}

func rejected(res Result, err error) Result {
	var re *domain.RejectedError
	if errors.As(err, &re) {
		res.Error = &ErrorBody{Code: re.Code(), Message: re.Error(), Violations: re.Violations}
	} else {
		res.Error = &ErrorBody{Code: "rejected", Message: err.Error()}
	}
	return res
}

// maxConflictRetries bounds the reload-and-decide-again loop when another
// writer appends to the same contract at the same moment.
const maxConflictRetries = 8

// Apply decides a decoded command and appends its events.
func (l *Ledger) Apply(ctx context.Context, cmd cpts.Command) (Result, error) {
	meta := cmd.Meta()
	res := Result{CommandID: meta.CommandID}
	stream := cpts.Stream(meta.ContractID)
	mu := l.lock(stream)
	mu.Lock()
	defer mu.Unlock()
	for attempt := 0; ; attempt++ {
		st, err := l.state(ctx, stream, meta.ContractID, attempt > 0)
		if err != nil {
			return res, err
		}
		if types, done := st.commands[meta.CommandID]; done {
			res.OK, res.Events, res.Duplicate = true, types, true
			return res, nil
		}
		events, err := cpts.Decide(st.contract, cmd)
		if err != nil {
			return rejected(res, err), nil
		}
		res.OK = true
		res.Events = []string{}
		if len(events) == 0 {
			return res, nil
		}
		data, err := Envelopes(stream, meta.CommandID, l.opts.Actor, events)
		if err != nil {
			return res, err
		}
		for _, e := range events {
			res.Events = append(res.Events, e.EventType())
		}
		expected := eventstore.NoStream()
		if st.revision != eventstore.NoRevision {
			expected = eventstore.Exact(uint64(st.revision))
		}
		ar, err := l.store.Append(ctx, stream, expected, data)
		var wre *eventstore.WrongRevisionError
		switch {
		case errors.As(err, &wre) && attempt < maxConflictRetries:
			continue // someone else wrote: reload and decide again
		case err != nil:
			l.forget(stream)
			return Result{CommandID: meta.CommandID}, fmt.Errorf("append to %s: %w", stream, err)
		}
		if ar.Duplicate {
			// Stored by an earlier attempt whose answer was lost.
			l.forget(stream)
			res.Duplicate = true
			return res, nil
		}
		l.remember(stream, st, events, int64(ar.LastRevision), meta.CommandID, res.Events)
		return res, nil
	}
}

// Envelopes turns the events a command produced into what the store
// appends: ids derived from the stream and command id, business dates, and
// the command as correlation and causation.
func Envelopes(stream, commandID, actor string, events []cpts.Event) ([]eventstore.EventData, error) {
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		body, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", e.EventType(), err)
		}
		data[i] = eventstore.EventData{
			ID: EventID(stream, commandID, i), Type: e.EventType(), SchemaVersion: cpts.SchemaVersion,
			OccurredOn: e.BusinessDate().String(), Actor: actor, CommandID: commandID,
			CorrelationID: commandID, CausationID: commandID, Data: body,
		}
	}
	return data, nil
}

// state returns the contract's state, from the cache unless reload.
func (l *Ledger) state(ctx context.Context, stream string, id uuid.UUID, reload bool) (*loaded, error) {
	if !reload {
		l.mu.Lock()
		st, ok := l.cache[stream]
		l.mu.Unlock()
		if ok {
			return st, nil
		}
	}
	st, err := load(ctx, l.store, id, l.opts.Rules)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if len(l.cache) >= l.opts.CacheContracts {
		clear(l.cache)
	}
	l.cache[stream] = st
	l.mu.Unlock()
	return st, nil
}

func (l *Ledger) forget(stream string) {
	l.mu.Lock()
	delete(l.cache, stream)
	l.mu.Unlock()
}

func (l *Ledger) remember(stream string, st *loaded, events []cpts.Event, revision int64, commandID string, types []string) {
	for _, e := range events {
		if err := st.contract.Apply(e); err != nil {
			// Decide produced it, so Apply accepts it; if not, drop the
			// cached state and let the next command reload.
			l.forget(stream)
			return
		}
	}
	st.revision = revision
	st.commands[commandID] = types
}

// load folds a contract's stream into its state.
func load(ctx context.Context, store eventstore.Store, id uuid.UUID, rules *cpts.Rules) (*loaded, error) {
	stream := cpts.Stream(id)
	st := &loaded{contract: cpts.NewContractWith(id, rules), revision: eventstore.NoRevision, commands: map[string][]string{}}
	err := ReadStream(ctx, store, stream, func(env eventstore.Envelope, e cpts.Event) error {
		if err := st.contract.Apply(e); err != nil {
			return err
		}
		st.revision = int64(env.Revision)
		st.commands[env.CommandID] = append(st.commands[env.CommandID], env.Type)
		return nil
	})
	return st, err
}

// Contract folds a contract's stream up to (and including) the events
// recorded at or before the filter accepts, and returns its state.
func Contract(ctx context.Context, store eventstore.Store, id uuid.UUID, keep func(eventstore.Envelope) bool) (*cpts.Contract, error) {
	c := cpts.NewContract(id)
	err := ReadStream(ctx, store, cpts.Stream(id), func(env eventstore.Envelope, e cpts.Event) error {
		if keep != nil && !keep(env) {
			return nil
		}
		return c.Apply(e)
	})
	return c, err
}

// ReadStream reads a CPTS stream in pages and decodes each event.
func ReadStream(ctx context.Context, store eventstore.Store, stream string, fn func(eventstore.Envelope, cpts.Event) error) error {
	const page = 512
	var from uint64
	for {
		envs, err := store.ReadStream(ctx, stream, from, page)
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		for _, env := range envs {
			e, err := cpts.DecodeEvent(env.Type, env.SchemaVersion, env.Data)
			if err != nil {
				return fmt.Errorf("%s revision %d: %w", stream, env.Revision, err)
			}
			if err := fn(env, e); err != nil {
				return fmt.Errorf("%s revision %d: %w", stream, env.Revision, err)
			}
		}
		if len(envs) < page {
			return nil
		}
		from = envs[len(envs)-1].Revision + 1
	}
}

// Contracts folds the whole global log into the state of every contract,
// keeping only the events keep accepts (nil: all). It reads in pages, so
// memory grows with the number of contracts, not of events.
func Contracts(ctx context.Context, store eventstore.Store, keep func(eventstore.Envelope) bool) (map[uuid.UUID]*cpts.Contract, error) {
	out := map[uuid.UUID]*cpts.Contract{}
	var after eventstore.Position
	const page = 2048
	for {
		envs, err := store.ReadAll(ctx, after, page)
		if err != nil {
			return nil, err
		}
		for _, env := range envs {
			after = env.Position
			id, ok := cpts.ContractOfStream(env.Stream)
			if !ok || (keep != nil && !keep(env)) {
				continue
			}
			e, err := cpts.DecodeEvent(env.Type, env.SchemaVersion, env.Data)
			if err != nil {
				return nil, fmt.Errorf("position %d: %w", env.Position, err)
			}
			c := out[id]
			if c == nil {
				c = cpts.NewContract(id)
				out[id] = c
			}
			if err := c.Apply(e); err != nil {
				return nil, fmt.Errorf("position %d: %w", env.Position, err)
			}
		}
		if len(envs) < page {
			return out, nil
		}
	}
}
