package relay_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/relay"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// cluster is a real 3-node JetStream cluster, in-process, routed on
// loopback.
type cluster struct {
	servers []*server.Server
	urls    []string
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{}
	// Each node routes to all three (a node ignores the route to itself):
	// JetStream's cluster needs its routes configured from the start.
	var routes []string
	clusterPorts := make([]int, 3)
	for i := range clusterPorts {
		addr := freePort(t)
		_, port, _ := strings.Cut(addr, ":")
		clusterPorts[i], _ = strconv.Atoi(port)
		routes = append(routes, "nats://"+addr)
	}
	for i := range 3 {
		opts := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1, JetStream: true,
			StoreDir: filepath.Join(dir, fmt.Sprintf("n%d", i+1)), NoSigs: true, NoLog: true,
			Cluster: server.ClusterOpts{Name: "ledger-test", Host: "127.0.0.1", Port: clusterPorts[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		c.servers = append(c.servers, s)
	}
	for i, s := range c.servers {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("n%d not ready", i+1)
		}
		c.urls = append(c.urls, s.ClientURL())
	}
	t.Cleanup(func() {
		for _, s := range c.servers {
			s.Shutdown()
		}
	})
	// Wait for the meta group: a JetStream request answers once a leader
	// of the cluster is elected.
	nc, js := c.connect(t)
	defer nc.Close()
	waitFor(t, "the JetStream cluster to elect its meta leader", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	})
	return c
}

// connect connects to every node, as serve --nats-url a,b,c does.
func (c *cluster) connect(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(strings.Join(c.urls, ","), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// leader returns the node leading the stream.
func (c *cluster) leader(t *testing.T, js jetstream.JetStream) *server.Server {
	t.Helper()
	var name string
	waitFor(t, "the stream's leader", func() bool {
		s, err := js.Stream(context.Background(), relay.StreamName)
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		if err != nil || info.Cluster == nil {
			return false
		}
		name = info.Cluster.Leader
		return name != ""
	})
	for _, s := range c.servers {
		if s.Name() == name {
			return s
		}
	}
	t.Fatalf("no node named %q", name)
	return nil
}

// On a 3-node JetStream cluster with a 3-replica stream, killing the
// stream's leader while the relay publishes loses nothing: after fail-over
// every event is in the stream once, in order — with the same relay, and
// with a relay restarted during the fail-over.
func TestRelayOnAClusterSurvivesTheLossOfTheLeader(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(map[bool]string{false: "same relay", true: "relay restarted"}[restart], func(t *testing.T) {
			c := startCluster(t)
			dir := t.TempDir()
			store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			state, err := relay.OpenState(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			defer state.Close()
			nc, js := c.connect(t)
			defer nc.Close()
			e := &env{store: store, db: state, nc: nc, js: js}
			e.appendEvents(t, 3000)
			opts := relay.Options{Replicas: 3, AckTimeout: 2 * time.Second, MaxBackoff: 200 * time.Millisecond}
			r := relay.New(store, js, state, opts)
			stop := runRelay(t, r)
			waitFor(t, "some events relayed", func() bool { return r.Stats().Position > 300 })
			leader := c.leader(t, js)
			leader.Shutdown()
			if restart {
				stop()
				r = relay.New(store, js, state, opts)
				stop = runRelay(t, r)
			}
			e.appendEvents(t, 1000)
			waitFor(t, "all 4000 relayed after the fail-over", func() bool { return r.Stats().Position == 4000 })
			stop()
			if now := c.leader(t, js); now.Name() == leader.Name() {
				t.Fatalf("the stream is still led by the node that was shut down")
			}
			e.consumeAll(t, 4000)
		})
	}
}

// A stream that exists with other settings than the relay's is reported,
// not silently used.
func TestExistingStreamWithOtherSettingsIsReported(t *testing.T) {
	c := startCluster(t)
	nc, js := c.connect(t)
	defer nc.Close()
	one := relay.New(nil, js, nil, relay.Options{Replicas: 1})
	if err := one.EnsureStream(context.Background()); err != nil {
		t.Fatal(err)
	}
	three := relay.New(nil, js, nil, relay.Options{Replicas: 3})
	err := three.EnsureStream(context.Background())
	var mismatch *relay.StreamMismatchError
	if !errors.As(err, &mismatch) || !strings.Contains(err.Error(), "replicas 1 (asked: 3)") {
		t.Fatalf("ensure a 3-replica stream over a 1-replica one: %v", err)
	}
	if err := one.EnsureStream(context.Background()); err != nil {
		t.Fatalf("the same settings again: %v", err)
	}
}
