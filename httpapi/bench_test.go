package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

// The write path under 32 concurrent clients, each signing contracts of
// its own: through the HTTP API (a real server on loopback, bearer token,
// JSON body) and through app's Go API in-process, on the same kind of store.
// Both report commands/s and the p50 and p99 latency of a command.

const benchClients = 32

// signLine is the t2 example's signature (first) for contract n of client c.
func signLine(first string, c, n int) string {
	id := fmt.Sprintf("0190a0e2-7c4e-7b1a-%04x-%012x", c, n)
	return strings.Replace(strings.Replace(first, t2, id, 1), `"t2-sign"`, fmt.Sprintf(`"bench-%d-%d"`, c, n), 1)
}

// runClients runs b.N commands spread over benchClients goroutines, each
// command through submit, and reports the rate and latencies, and how the
// store's writer grouped them: appends per group (one fsync each) and the
// share of the time it spent committing.
func runClients(b *testing.B, store *embedded.Store, submit func(line string) error) {
	first := firstSignature(b)
	before := store.WriterStats()
	b.ResetTimer()
	latencies, err := drive(first, b.N, submit)
	b.StopTimer()
	after := store.WriterStats()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(after.Appends-before.Appends)/float64(after.Groups-before.Groups), "appends/group")
	b.ReportMetric(float64(after.Busy-before.Busy)/float64(b.Elapsed()), "writer-busy")
}

// firstSignature is the first line of the t2 example: a signature.
func firstSignature(b *testing.B) string {
	raw, err := os.ReadFile("../examples/t2-contract.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	return first
}

// drive signs n contracts through submit from benchClients goroutines and
// returns the latencies, sorted.
func drive(first string, n int, submit func(line string) error) ([]time.Duration, error) {
	var next atomic.Int64
	latencies := make([][]time.Duration, benchClients)
	var failed atomic.Value
	var wg sync.WaitGroup
	for c := range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; next.Add(1) <= int64(n); i++ {
				line := signLine(first, c, i)
				start := time.Now()
				if err := submit(line); err != nil {
					failed.Store(err)
					return
				}
				latencies[c] = append(latencies[c], time.Since(start))
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return nil, err
	}
	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	slices.Sort(all)
	return all, nil
}

func benchStore(b *testing.B) (*embedded.Store, string) {
	dir := b.TempDir()
	store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	return store, dir
}

func BenchmarkSubmit32InProcess(b *testing.B) {
	store, submit := inProcess(b)
	runClients(b, store, submit)
}

// inProcess submits through app's Go API, on a store of its own.
func inProcess(b *testing.B) (*embedded.Store, func(string) error) {
	store, _ := benchStore(b)
	l := app.New(store, app.Options{ReplayHistory: true})
	return store, func(line string) error {
		res, err := l.SubmitAs(context.Background(), "bench", []byte(line))
		if err == nil && !res.OK {
			err = fmt.Errorf("rejected: %+v", res.Error)
		}
		return err
	}
}

// benchServer serves the API over a fresh store on loopback and returns
// the store, the server's address and an agent's token.
func benchServer(b *testing.B) (*embedded.Store, string, string) {
	store, dir := benchStore(b)
	models := projections.NewSet(dir, nil)
	b.Cleanup(func() { models.Close() })
	tokens := auth.Open(dir)
	token, err := tokens.Create(auth.Identity{Name: "bench", Role: auth.Agent})
	if err != nil {
		b.Fatal(err)
	}
	s := New(Config{Store: store, Commands: app.New(store, app.Options{ReplayHistory: true}), Reads: query.New(store, models, app.DefaultSchemes()),
		Models: models, Tokens: tokens})
	srv := httptest.NewServer(s.Handler())
	b.Cleanup(srv.Close)
	return store, srv.Listener.Addr().String(), token
}

// checkAnswer fails unless the answer is a 200 acknowledging the command.
func checkAnswer(res *http.Response) error {
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != 200 || !bytes.Contains(body, []byte(`"ok": true`)) {
		return fmt.Errorf("%d %s", res.StatusCode, body)
	}
	return nil
}

// The clients are Go's http.Client, as a Go program calling the API would
// use.
func BenchmarkSubmit32HTTP(b *testing.B) {
	store, submit := httpClient(b)
	runClients(b, store, submit)
}

// httpClient submits through Go's http.Client to a server of its own.
func httpClient(b *testing.B) (*embedded.Store, func(string) error) {
	store, addr, token := benchServer(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}
	b.Cleanup(client.CloseIdleConnections)
	return store, func(line string) error {
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/commands", strings.NewReader(line))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		return checkAnswer(res)
	}
}

// The clients write each request on a connection of their own and read its
// answer, as a load generator (wrk, h2load) does: the same server, with less
// of the two cores spent by the clients, which on a deployment run on other
// machines.
func BenchmarkSubmit32HTTPLeanClients(b *testing.B) {
	store, submit := leanClients(b)
	runClients(b, store, submit)
}

// leanClients submits as a load generator does to a server of its own.
func leanClients(b *testing.B) (*embedded.Store, func(string) error) {
	store, addr, token := benchServer(b)
	var mu sync.Mutex
	var idle []*bufio.ReadWriter // connections kept alive between commands
	return store, func(line string) error {
		mu.Lock()
		var c *bufio.ReadWriter
		if n := len(idle); n > 0 {
			c, idle = idle[n-1], idle[:n-1]
		}
		mu.Unlock()
		if c == nil {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				return err
			}
			b.Cleanup(func() { conn.Close() })
			c = bufio.NewReadWriter(bufio.NewReader(conn), bufio.NewWriter(conn))
		}
		fmt.Fprintf(c, "POST /api/v1/commands HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			addr, token, len(line), line)
		if err := c.Flush(); err != nil {
			return err
		}
		res, err := http.ReadResponse(c.Reader, nil)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if err := checkAnswer(res); err != nil {
			return err
		}
		mu.Lock()
		idle = append(idle, c)
		mu.Unlock()
		return nil
	}
}
