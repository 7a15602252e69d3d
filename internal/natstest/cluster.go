// Package natstest starts a real JetStream cluster in-process for tests:
// nats-server nodes routed to each other on loopback, each with its own
// store, as a production cluster is set up (only the addresses differ).
package natstest

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cptsledger/ledger/internal/natsserver"
	"github.com/cptsledger/ledger/internal/testwait"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is a running JetStream cluster.
type Cluster struct {
	Servers []*server.Server
	// URLs are the nodes' client URLs, in the order of Servers.
	URLs []string
	// connect are the options Connect uses (the publisher's credentials
	// on a cluster with users).
	connect []nats.Option
}

// URL is the comma-separated list of the nodes' client URLs, as given to
// --nats-url.
func (c *Cluster) URL() string { return strings.Join(c.URLs, ",") }

// StartCluster starts n nodes and returns once the cluster has elected its
// meta leader (JetStream answers). The test's cleanup shuts them down.
func StartCluster(t testing.TB, n int) *Cluster { return StartClusterWithUsers(t, n, nil, "") }

// StartClusterWithUsers starts n nodes that take only the users' clients,
// in the accounts the embedded server gives them (natsserver.AccountsConfig),
// as docs/deploy.md configures a production cluster; Connect uses the
// publisher's seed file. users nil: anyone may connect.
func StartClusterWithUsers(t testing.TB, n int, users *natsserver.Users, publisherSeed string) *Cluster {
	t.Helper()
	dir := t.TempDir()
	// A node's cluster port is chosen free, then let go before the node
	// binds it: another process of the test run may take it meanwhile, and
	// the node never gets ready. Then the cluster starts again, on other
	// ports. Why not hand each node its listener, as every other test of
	// the repository does: a NATS server binds its ports itself, and a
	// clustered JetStream node opens its route port only once JetStream is
	// up, which waits for the routes — so the nodes' route ports must be
	// known before any starts (a seed node with a port of its choosing
	// never gets ready; tried).
	var c *Cluster
	var err error
	for attempt := 1; ; attempt++ {
		if c, err = startNodes(t, filepath.Join(dir, fmt.Sprint(attempt)), n, users, publisherSeed); err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("a %d-node cluster did not start in %d attempts: %v", n, attempt, err)
		}
		t.Logf("starting the cluster again: %v", err)
	}
	t.Cleanup(func() {
		for _, s := range c.Servers {
			s.Shutdown()
		}
	})
	nc, js := c.Connect(t)
	defer nc.Close()
	WaitFor(t, "the JetStream cluster to elect its meta leader", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	})
	return c
}

// Connect connects to every node, reconnecting for ever, as the ledger
// does with a comma-separated --nats-url.
func (c *Cluster) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(c.URL(), append([]nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond)}, c.connect...)...)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	return nc, js
}

// Leader returns the node that leads the stream, once it has one.
func (c *Cluster) Leader(t testing.TB, js jetstream.JetStream, stream string) *server.Server {
	t.Helper()
	var name string
	WaitFor(t, "a leader of the stream "+stream, func() bool {
		s, err := js.Stream(context.Background(), stream)
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
	for _, s := range c.Servers {
		if s.Name() == name {
			return s
		}
	}
	t.Fatalf("no node named %q", name)
	return nil
}

// Follower returns a node that holds a replica of the stream but does not
// lead it.
func (c *Cluster) Follower(t testing.TB, js jetstream.JetStream, stream string) *server.Server {
	t.Helper()
	leader := c.Leader(t, js, stream)
	for _, s := range c.Servers {
		if s != leader && s.Running() {
			return s
		}
	}
	t.Fatalf("the stream %s has no follower", stream)
	return nil
}

// WaitFor polls cond until it holds, failing the test after a minute (a
// fail-over takes seconds). Call it on the test's goroutine.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testwait.Until(t, time.Minute, what, cond)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (c *Cluster) shutdown() {
	for _, s := range c.Servers {
		s.Shutdown()
	}
}

// startNodes starts n nodes routed to each other, storing under dir, and
// waits until each takes connections.
func startNodes(t testing.TB, dir string, n int, users *natsserver.Users, publisherSeed string) (*Cluster, error) {
	t.Helper()
	// Each node routes to all of them (a node ignores the route to itself):
	// a JetStream cluster needs its routes configured from the start.
	ports := make([]int, n)
	routes := make([]string, n)
	for i := range ports {
		ports[i] = freePort(t)
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", ports[i])
	}
	c := &Cluster{}
	if users != nil {
		seed, err := nats.NkeyOptionFromSeed(publisherSeed)
		if err != nil {
			t.Fatal(err)
		}
		c.connect = append(c.connect, seed)
	}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		opts := &server.Options{}
		if users != nil {
			// The accounts of docs/deploy.md (natsserver.AccountsConfig).
			if err := natsserver.ConfigureAccounts(opts, *users); err != nil {
				t.Fatal(err)
			}
		}
		opts.ServerName, opts.Host, opts.Port, opts.JetStream = name, "127.0.0.1", -1, true
		opts.StoreDir, opts.NoSigs, opts.NoLog = filepath.Join(dir, name), true, true
		opts.Cluster = server.ClusterOpts{Name: "ledger-test", Host: "127.0.0.1", Port: ports[i]}
		opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		s, err := server.NewServer(opts)
		if err != nil {
			c.shutdown()
			return nil, err
		}
		go s.Start()
		c.Servers = append(c.Servers, s)
	}
	for i, s := range c.Servers {
		if !s.ReadyForConnections(30 * time.Second) {
			c.shutdown()
			return nil, fmt.Errorf("node n%d not ready (cluster port %d)", i+1, ports[i])
		}
		c.URLs = append(c.URLs, s.ClientURL())
	}
	return c, nil
}
