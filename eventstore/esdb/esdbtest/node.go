// Package esdbtest is a stand-in EventStoreDB/KurrentDB node for tests: a
// gRPC server on loopback, built on the server interfaces that ship with
// EventStore-Client-Go/v4 (protos/streams, serverfeatures, gossip), that the
// real v4 client talks to over real gRPC. It keeps its log in memory and
// follows KurrentDB's documented behaviour where the ledger depends on it:
//
//   - appends with expected revisions (a revision, no stream, any, stream
//     exists), refused with WrongExpectedVersion and the current revision;
//   - stream reads forwards and backwards from a revision, the start or the
//     end, a missing stream answered with StreamNotFound;
//   - $all reads forwards (from a position, inclusive) and backwards (before
//     it), positions being byte offsets in the log — not contiguous, commit
//     equal to prepare for each event — and a read from a position that is
//     not a record's boundary refused with InvalidArgument ("Trying to read
//     from an invalid position."), as KurrentDB does;
//   - system events ($-prefixed types and streams) interleaved with the
//     others, and foreign streams, on demand;
//   - $all subscriptions with event-type and stream filters (regex or
//     prefixes): confirmation, catch-up, checkpoints every window of
//     filtered events, caught-up, then live events;
//   - a node that answers slowly (SetDelay), and a restart (Restart) that
//     drops every connection and subscription and keeps the log.
//
// It does not do: links and projections, deletes and tombstones, persistent
// subscriptions, access control, clustering beyond a one-member gossip, or
// KurrentDB's exact byte layout. docs/deploy.md says what must still run
// against a real server.
package esdbtest

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// firstPosition is where the log's first record starts: KurrentDB's log
// does not start at 0 either (a chunk header comes first).
const firstPosition = 128

// record is one event of the log.
type record struct {
	id       uuid.UUID
	stream   string
	revision uint64
	position uint64 // commit = prepare
	metadata map[string]string
	custom   []byte
	data     []byte
}

func (r *record) eventType() string { return r.metadata["type"] }

// Node is a stand-in node.
type Node struct {
	mu       sync.Mutex
	log      []*record
	streams  map[string][]int // indexes into log, by stream
	next     uint64           // the position the next record gets
	appended chan struct{}    // closed and renewed at each append: wakes subscriptions
	delay    time.Duration

	addr string
	srv  *grpc.Server
	lis  net.Listener
}

// Start starts a node on a free loopback port.
func Start() (*Node, error) {
	n := &Node{streams: map[string][]int{}, next: firstPosition, appended: make(chan struct{})}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	n.addr = lis.Addr().String()
	n.serve(lis)
	return n, nil
}

func (n *Node) serve(lis net.Listener) {
	srv := grpc.NewServer()
	api.RegisterStreamsServer(srv, &streamsServer{n: n})
	serverfeatures.RegisterServerFeaturesServer(srv, &featuresServer{})
	gossip.RegisterGossipServer(srv, &gossipServer{n: n})
	n.mu.Lock()
	n.srv, n.lis = srv, lis
	n.mu.Unlock()
	go srv.Serve(lis)
}

// URL is the connection string of the node, for esdb.Open.
func (n *Node) URL() string { return "esdb://" + n.addr + "?tls=false" }

// Stop stops the node: every connection and subscription is dropped.
func (n *Node) Stop() {
	n.mu.Lock()
	srv := n.srv
	n.mu.Unlock()
	srv.Stop()
}

// Restart stops the node and starts it again on the same address, with the
// same log: clients see their calls fail and their subscriptions dropped,
// then reconnect.
func (n *Node) Restart() error {
	n.Stop()
	var lis net.Listener
	var err error
	for range 50 { // the port is free again once the old listener is closed
		if lis, err = net.Listen("tcp", n.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("esdbtest: restart on %s: %w", n.addr, err)
	}
	n.serve(lis)
	return nil
}

// SetDelay makes every call wait d before it is answered.
func (n *Node) SetDelay(d time.Duration) {
	n.mu.Lock()
	n.delay = d
	n.mu.Unlock()
}

func (n *Node) wait(ctx context.Context) error {
	n.mu.Lock()
	d := n.delay
	n.mu.Unlock()
	if d == 0 {
		return nil
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

// Head returns the position after the last record.
func (n *Node) Head() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.next
}

// AppendSystemEvents appends count system events ($-prefixed types, on
// $-prefixed streams), as a real node writes statistics and settings.
func (n *Node) AppendSystemEvents(count int) {
	for i := 0; i < count; i++ {
		n.appendRaw("$stats-127.0.0.1:2113", "$statsCollected", []byte(`{"proc-cpu":0.1}`))
	}
}

// AppendForeign appends count events of another application to stream.
func (n *Node) AppendForeign(stream string, count int) {
	for i := 0; i < count; i++ {
		n.appendRaw(stream, "SomethingHappened", []byte(`{"n":`+strconv.Itoa(i)+`}`))
	}
}

func (n *Node) appendRaw(stream, typ string, data []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.add(stream, &record{id: uuid.New(), metadata: map[string]string{"type": typ, "content-type": "application/json"}, data: data})
}

// add appends a record to the log; the caller holds mu.
func (n *Node) add(stream string, r *record) {
	r.stream = stream
	r.revision = uint64(len(n.streams[stream]))
	r.position = n.next
	if _, ok := r.metadata["created"]; !ok {
		r.metadata["created"] = strconv.FormatInt(time.Now().UnixNano()/100, 10) // .NET ticks since the epoch
	}
	// A record's size on disk: a header, the stream and type names, the
	// data and metadata, rounded up to 8 bytes.
	size := 80 + len(stream) + len(r.metadata["type"]) + len(r.data) + len(r.custom)
	n.next += uint64((size + 7) &^ 7)
	n.streams[stream] = append(n.streams[stream], len(n.log))
	n.log = append(n.log, r)
	close(n.appended)
	n.appended = make(chan struct{})
}

// boundary returns the index of the first record at or after a valid
// position: a record's position, or the end of the log. Other positions are
// InvalidArgument, as KurrentDB answers.
func (n *Node) boundary(pos uint64) (int, error) {
	if pos == n.next {
		return len(n.log), nil
	}
	i, found := slices.BinarySearchFunc(n.log, pos, func(r *record, p uint64) int {
		switch {
		case r.position < p:
			return -1
		case r.position > p:
			return 1
		}
		return 0
	})
	if !found {
		return 0, status.Error(codes.InvalidArgument, "Trying to read from an invalid position.")
	}
	return i, nil
}

type featuresServer struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

func (featuresServer) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	methods := []*serverfeatures.SupportedMethod{}
	for _, m := range []string{"read", "append"} {
		methods = append(methods, &serverfeatures.SupportedMethod{ServiceName: "event_store.client.streams.streams", MethodName: m})
	}
	return &serverfeatures.SupportedMethods{Methods: methods, EventStoreServerVersion: "24.10.0"}, nil
}

type gossipServer struct {
	gossip.UnimplementedGossipServer
	n *Node
}

// Read answers a one-member cluster: this node, leader, alive.
func (g *gossipServer) Read(context.Context, *shared.Empty) (*gossip.ClusterInfo, error) {
	host, portText, _ := net.SplitHostPort(g.n.addr)
	port, _ := strconv.Atoi(portText)
	return &gossip.ClusterInfo{Members: []*gossip.MemberInfo{{
		InstanceId: &shared.UUID{Value: &shared.UUID_String_{String_: "7f1ad6a6-2b6e-4e4b-9d7a-5b0c6e7a8f90"}},
		TimeStamp:  time.Now().UnixNano() / 100, State: gossip.MemberInfo_Leader, IsAlive: true,
		HttpEndPoint: &gossip.EndPoint{Address: host, Port: uint32(port)},
	}}}, nil
}

// uuidOf reads a UUID in either of its wire forms.
func uuidOf(u *shared.UUID) (uuid.UUID, error) {
	if s := u.GetStructured(); s != nil {
		var b [16]byte
		for i := 0; i < 8; i++ {
			b[i] = byte(uint64(s.MostSignificantBits) >> (56 - 8*i))
			b[8+i] = byte(uint64(s.LeastSignificantBits) >> (56 - 8*i))
		}
		return uuid.UUID(b), nil
	}
	return uuid.Parse(u.GetString_())
}

func structured(id uuid.UUID) *shared.UUID {
	var most, least uint64
	for i := 0; i < 8; i++ {
		most = most<<8 | uint64(id[i])
		least = least<<8 | uint64(id[8+i])
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits: int64(most), LeastSignificantBits: int64(least)}}}
}

// filter is a subscription's or read's filter.
type filter struct {
	onType bool
	re     *regexp.Regexp
	prefix []string
}

func newFilter(o *api.ReadReq_Options) (*filter, error) {
	fo := o.GetFilter()
	if fo == nil {
		return nil, nil
	}
	f := &filter{}
	var e *api.ReadReq_Options_FilterOptions_Expression
	if t := fo.GetEventType(); t != nil {
		f.onType, e = true, t
	} else {
		e = fo.GetStreamIdentifier()
	}
	if e.GetRegex() != "" {
		re, err := regexp.Compile(e.GetRegex())
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "filter: %v", err)
		}
		f.re = re
	}
	f.prefix = e.GetPrefix()
	return f, nil
}

func (f *filter) keeps(r *record) bool {
	if f == nil {
		return true
	}
	s := r.stream
	if f.onType {
		s = r.eventType()
	}
	if f.re != nil {
		return f.re.MatchString(s)
	}
	for _, p := range f.prefix {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return len(f.prefix) == 0
}
