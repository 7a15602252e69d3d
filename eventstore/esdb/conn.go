package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// conn is what the store asks of EventStoreDB. clientConn is the real one;
// the unit tests use an in-memory one, so that everything around the client
// call is tested where no EventStoreDB server can run.
type conn interface {
	// Append appends events with an expected revision. Errors wrap
	// errWrongVersion or errUncertain when they are those.
	Append(ctx context.Context, stream string, expected esdb.ExpectedRevision, events []esdb.EventData) (*esdb.WriteResult, error)
	// ReadStream reads up to count events from a position, forwards or
	// backwards; a stream that does not exist reads as empty.
	ReadStream(ctx context.Context, stream string, from esdb.StreamPosition, backwards bool, count uint64) ([]*esdb.RecordedEvent, error)
	// ReadAll reads up to count events of $all from a position (inclusive).
	ReadAll(ctx context.Context, from esdb.AllPosition, backwards bool, count uint64) ([]*esdb.RecordedEvent, error)
	// SubscribeAll subscribes to $all after a position, system events
	// excluded.
	SubscribeAll(ctx context.Context, from esdb.AllPosition) (subscription, error)
	Close() error
}

type subscription interface {
	// Next returns the next event, or an error when the subscription is
	// dropped.
	Next() (*esdb.RecordedEvent, error)
	Close() error
}

var (
	errWrongVersion = errors.New("esdb: wrong expected version")
	errUncertain    = errors.New("esdb: outcome uncertain")
	errNotFound     = errors.New("esdb: stream not found")
)

// mapError classifies the client's errors: a wrong expected version, an
// outcome that may or may not have happened (deadline, lost connection,
// unavailable node, leader change, aborted), a missing stream, or anything
// else unchanged.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	e, _ := esdb.FromError(err)
	switch e.Code() {
	case esdb.ErrorCodeWrongExpectedVersion:
		return fmt.Errorf("%w: %v", errWrongVersion, err)
	case esdb.ErrorCodeDeadlineExceeded, esdb.ErrorCodeConnectionClosed, esdb.ErrorUnavailable, esdb.ErrorCodeNotLeader, esdb.ErrorAborted:
		return fmt.Errorf("%w: %v", errUncertain, err)
	case esdb.ErrorCodeResourceNotFound:
		return fmt.Errorf("%w: %v", errNotFound, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %v", errUncertain, err)
	}
	return err
}

// withContext returns err as the context's error when the context ended
// while the call was in flight: the client reports it as a gRPC status
// (Canceled, DeadlineExceeded), and a caller must be able to tell "I gave
// up" (errors.Is(err, context.Canceled)) from "the store failed". For an
// append, whether the node wrote it is then unknown: submitting the command
// again is safe (idempotent).
func withContext(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	cerr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(dl) {
		cerr = context.DeadlineExceeded // gRPC saw the deadline pass before the context's timer fired
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

type clientConn struct{ c *esdb.Client }

func (cc *clientConn) Append(ctx context.Context, stream string, expected esdb.ExpectedRevision, events []esdb.EventData) (*esdb.WriteResult, error) {
	wr, err := cc.c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: expected}, events...)
	if cerr := withContext(ctx, err); cerr != err {
		return nil, cerr
	}
	return wr, mapError(err)
}

func direction(backwards bool) esdb.Direction {
	if backwards {
		return esdb.Backwards
	}
	return esdb.Forwards
}

func (cc *clientConn) ReadStream(ctx context.Context, stream string, from esdb.StreamPosition, backwards bool, count uint64) ([]*esdb.RecordedEvent, error) {
	rs, err := cc.c.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: from, Direction: direction(backwards)}, count)
	if err != nil {
		if errors.Is(mapError(err), errNotFound) {
			return nil, nil
		}
		return nil, withContext(ctx, mapError(err))
	}
	recs, err := drain(rs)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	return recs, withContext(ctx, err)
}

func (cc *clientConn) ReadAll(ctx context.Context, from esdb.AllPosition, backwards bool, count uint64) ([]*esdb.RecordedEvent, error) {
	rs, err := cc.c.ReadAll(ctx, esdb.ReadAllOptions{From: from, Direction: direction(backwards)}, count)
	if err != nil {
		return nil, withContext(ctx, mapError(err))
	}
	recs, err := drain(rs)
	return recs, withContext(ctx, err)
}

func drain(rs *esdb.ReadStream) ([]*esdb.RecordedEvent, error) {
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, mapError(err)
		}
		if ev.Event != nil {
			out = append(out, ev.Event)
		}
	}
}

func (cc *clientConn) SubscribeAll(ctx context.Context, from esdb.AllPosition) (subscription, error) {
	sub, err := cc.c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: from, Filter: esdb.ExcludeSystemEventsFilter()})
	if err != nil {
		return nil, withContext(ctx, mapError(err))
	}
	return &clientSub{s: sub}, nil
}

func (cc *clientConn) Close() error { return cc.c.Close() }

type clientSub struct{ s *esdb.Subscription }

func (cs *clientSub) Next() (*esdb.RecordedEvent, error) {
	for {
		ev := cs.s.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			return nil, fmt.Errorf("esdb: subscription dropped: %w", ev.SubscriptionDropped.Error)
		case ev.EventAppeared != nil && ev.EventAppeared.Event != nil:
			return ev.EventAppeared.Event, nil
		}
		// Checkpoints, caught-up and fell-behind notices carry no event.
	}
}

func (cs *clientSub) Close() error { return cs.s.Close() }
