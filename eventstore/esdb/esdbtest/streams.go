package esdbtest

import (
	"errors"
	"io"
	"math"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type streamsServer struct {
	api.UnimplementedStreamsServer
	n *Node
}

const noStream = math.MaxUint64 // a stream's "revision" before its first event

// Append takes the options, then the proposed events, and appends them at
// once if the expected revision holds.
func (s *streamsServer) Append(stream api.Streams_AppendServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "the first message of an append carries its options")
	}
	var proposed []*api.AppendReq_ProposedMessage
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if p := m.GetProposedMessage(); p != nil {
			proposed = append(proposed, p)
		}
	}
	if err := s.n.wait(ctx); err != nil {
		return err
	}
	name := string(opts.GetStreamIdentifier().GetStreamName())
	records := make([]*record, len(proposed))
	for i, p := range proposed {
		id, err := uuidOf(p.GetId())
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "event id: %v", err)
		}
		md := map[string]string{}
		for k, v := range p.GetMetadata() {
			md[k] = v
		}
		records[i] = &record{id: id, metadata: md, custom: p.GetCustomMetadata(), data: p.GetData()}
	}
	n := s.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := ctx.Err(); err != nil { // a caller gone before the write: nothing is written
		return status.FromContextError(err).Err()
	}
	current := uint64(noStream)
	if idx := n.streams[name]; len(idx) > 0 {
		current = uint64(len(idx) - 1)
	}
	if wrong := wrongExpected(opts, current); wrong != nil {
		return stream.SendAndClose(&api.AppendResp{Result: wrong})
	}
	for _, r := range records {
		n.add(name, r)
	}
	ok := &api.AppendResp_Success{}
	if len(records) == 0 {
		if current == noStream {
			ok.CurrentRevisionOption = &api.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
		} else {
			ok.CurrentRevisionOption = &api.AppendResp_Success_CurrentRevision{CurrentRevision: current}
		}
		ok.PositionOption = &api.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	} else {
		last := records[len(records)-1]
		ok.CurrentRevisionOption = &api.AppendResp_Success_CurrentRevision{CurrentRevision: last.revision}
		ok.PositionOption = &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{CommitPosition: last.position, PreparePosition: last.position}}
	}
	return stream.SendAndClose(&api.AppendResp{Result: &api.AppendResp_Success_{Success: ok}})
}

// wrongExpected returns the WrongExpectedVersion answer when the expected
// revision does not hold, or nil.
func wrongExpected(o *api.AppendReq_Options, current uint64) *api.AppendResp_WrongExpectedVersion_ {
	w := &api.AppendResp_WrongExpectedVersion{}
	holds := true
	switch e := o.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Revision:
		holds = current == e.Revision
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: e.Revision}
	case *api.AppendReq_Options_NoStream:
		holds = current == noStream
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case *api.AppendReq_Options_StreamExists:
		holds = current != noStream
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
	default: // any
	}
	if holds {
		return nil
	}
	if current == noStream {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: current}
	}
	return &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}
}

// Read serves stream reads, $all reads and $all subscriptions.
func (s *streamsServer) Read(req *api.ReadReq, out api.Streams_ReadServer) error {
	ctx := out.Context()
	if err := s.n.wait(ctx); err != nil {
		return err
	}
	o := req.GetOptions()
	f, err := newFilter(o)
	if err != nil {
		return err
	}
	backwards := o.GetReadDirection() == api.ReadReq_Options_Backwards
	if o.GetSubscription() != nil {
		if o.GetAll() == nil {
			return status.Error(codes.Unimplemented, "esdbtest: subscriptions to one stream are not served")
		}
		return s.n.subscribe(o, f, out)
	}
	var batch []*record
	if st := o.GetStream(); st != nil {
		var found bool
		batch, found = s.n.readStream(st, backwards, o.GetCount())
		if !found {
			return out.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
				StreamIdentifier: st.GetStreamIdentifier()}}})
		}
	} else if batch, err = s.n.readAll(o.GetAll(), backwards, o.GetCount(), f); err != nil {
		return err
	}
	for _, r := range batch {
		if err := out.Send(readEvent(r)); err != nil {
			return err
		}
	}
	return nil
}

func readEvent(r *record) *api.ReadResp {
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id: structured(r.id), StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision: r.revision, PreparePosition: r.position, CommitPosition: r.position,
			Metadata: r.metadata, CustomMetadata: r.custom, Data: r.data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.position},
	}}}
}

// readStream reads up to count events of a stream; found is false when it
// has none.
func (n *Node) readStream(o *api.ReadReq_Options_StreamOptions, backwards bool, count uint64) ([]*record, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	idx := n.streams[string(o.GetStreamIdentifier().GetStreamName())]
	if len(idx) == 0 {
		return nil, false
	}
	var from int
	switch r := o.GetRevisionOption().(type) {
	case *api.ReadReq_Options_StreamOptions_Revision:
		from = int(min(r.Revision, uint64(len(idx))))
		if backwards && r.Revision >= uint64(len(idx)) {
			from = len(idx) - 1
		}
	case *api.ReadReq_Options_StreamOptions_End:
		from = len(idx) // forwards: nothing; backwards: from the last
		if backwards {
			from = len(idx) - 1
		}
	}
	var out []*record
	for i := from; i >= 0 && i < len(idx) && uint64(len(out)) < count; {
		out = append(out, n.log[idx[i]])
		if backwards {
			i--
		} else {
			i++
		}
	}
	return out, true
}

// readAll reads up to count events of $all: forwards from a position
// (inclusive), backwards before it.
func (n *Node) readAll(o *api.ReadReq_Options_AllOptions, backwards bool, count uint64, f *filter) ([]*record, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var i int
	switch p := o.GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Position:
		if p.Position.GetCommitPosition() != p.Position.GetPreparePosition() {
			return nil, status.Error(codes.InvalidArgument, "Trying to read from an invalid position.")
		}
		var err error
		if i, err = n.boundary(p.Position.GetCommitPosition()); err != nil {
			return nil, err
		}
	case *api.ReadReq_Options_AllOptions_End:
		i = len(n.log)
	}
	var out []*record
	if backwards {
		for j := i - 1; j >= 0 && uint64(len(out)) < count; j-- {
			if f.keeps(n.log[j]) {
				out = append(out, n.log[j])
			}
		}
		return out, nil
	}
	for j := i; j < len(n.log) && uint64(len(out)) < count; j++ {
		if f.keeps(n.log[j]) {
			out = append(out, n.log[j])
		}
	}
	return out, nil
}

// subscribe serves a $all subscription: a confirmation, the events after the
// position (filtered), a checkpoint every window of events read, caught-up,
// then each event as it is appended, until the caller goes or the node
// stops.
func (n *Node) subscribe(o *api.ReadReq_Options, f *filter, out api.Streams_ReadServer) error {
	ctx := out.Context()
	n.mu.Lock()
	var next int
	switch p := o.GetAll().GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Position:
		i, err := n.boundary(p.Position.GetCommitPosition())
		if err != nil {
			n.mu.Unlock()
			return err
		}
		next = i
		if i < len(n.log) && n.log[i].position == p.Position.GetCommitPosition() {
			next = i + 1 // after the position
		}
	case *api.ReadReq_Options_AllOptions_End:
		next = len(n.log)
	}
	n.mu.Unlock()
	window := 32
	if fo := o.GetFilter(); fo != nil && fo.GetMax() > 0 {
		window = int(fo.GetMax())
	}
	if err := out.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{
		SubscriptionId: "esdbtest-" + uuid.NewString()}}}); err != nil {
		return err
	}
	caughtUp := false
	read := 0
	for {
		n.mu.Lock()
		batch := n.log[next:]
		wake := n.appended
		n.mu.Unlock()
		for _, r := range batch {
			next++
			read++
			if f.keeps(r) {
				if err := out.Send(readEvent(r)); err != nil {
					return err
				}
			}
			if read%window == 0 {
				if err := out.Send(&api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{
					CommitPosition: r.position, PreparePosition: r.position}}}); err != nil {
					return err
				}
			}
		}
		if !caughtUp {
			caughtUp = true
			if err := out.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}
