package httpapi

import (
	"context"
	"fmt"
	"io"
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
	raw, err := os.ReadFile("../examples/t2-contract.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	var next atomic.Int64
	latencies := make([][]time.Duration, benchClients)
	var failed atomic.Value
	var wg sync.WaitGroup
	before := store.WriterStats()
	b.ResetTimer()
	for c := range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; next.Add(1) <= int64(b.N); n++ {
				line := signLine(first, c, n)
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
	b.StopTimer()
	after := store.WriterStats()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(after.Appends-before.Appends)/float64(after.Groups-before.Groups), "appends/group")
	b.ReportMetric(float64(after.Busy-before.Busy)/float64(b.Elapsed()), "writer-busy")
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
	store, _ := benchStore(b)
	l := app.New(store, app.Options{})
	runClients(b, store, func(line string) error {
		res, err := l.SubmitAs(context.Background(), "bench", []byte(line))
		if err == nil && !res.OK {
			err = fmt.Errorf("rejected: %+v", res.Error)
		}
		return err
	})
}

func BenchmarkSubmit32HTTP(b *testing.B) {
	store, dir := benchStore(b)
	models := projections.NewSet(dir, nil)
	b.Cleanup(func() { models.Close() })
	tokens := auth.Open(dir)
	token, err := tokens.Create(auth.Identity{Name: "bench", Role: auth.Agent})
	if err != nil {
		b.Fatal(err)
	}
	s := New(Config{Store: store, Commands: app.New(store, app.Options{}), Reads: query.New(store, models, app.DefaultSchemes()),
		Models: models, Tokens: tokens})
	srv := httptest.NewServer(s.Handler())
	b.Cleanup(srv.Close)
	ts := srv.URL
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}
	runClients(b, store, func(line string) error {
		req, _ := http.NewRequest("POST", ts+"/api/v1/commands", strings.NewReader(line))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		if res.StatusCode != 200 || !strings.Contains(string(body), `"ok": true`) {
			return fmt.Errorf("%d %s", res.StatusCode, body)
		}
		return nil
	})
}
