package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
)

// failingStore fails every append as SQLite does when the disk is full,
// with the file's path in its message.
type failingStore struct{ eventstore.Store }

func (failingStore) Append(context.Context, string, eventstore.ExpectedRevision, []eventstore.EventData, ...eventstore.AppendOption) (eventstore.AppendResult, error) {
	return eventstore.AppendResult{}, errors.New("embedded: insert into cpts-x: /srv/ledger/data/events.db: database or disk is full (13)")
}

// A store that fails answers 503 unavailable with a sentence, never the
// store's own message (a path, an SQLite code): that goes to the log.
func TestUnavailableBodiesHoldNoPaths(t *testing.T) {
	dir := t.TempDir()
	store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tokens := auth.Open(dir)
	tok, err := tokens.Create(auth.Identity{Name: "agnes", Role: auth.Agent})
	if err != nil {
		t.Fatal(err)
	}
	bad := failingStore{store}
	srv := httptest.NewServer(New(Config{Store: bad, Commands: app.New(bad, app.Options{}), Tokens: tokens}).Handler())
	defer srv.Close()
	for _, ct := range []string{jsonCT, ndjson} {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/commands", strings.NewReader(string(example(t, "t2-contract.jsonl"))[:strings.Index(string(example(t, "t2-contract.jsonl")), "\n")]))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", ct)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(body), `"unavailable"`) || strings.Contains(string(body), "/srv/") || strings.Contains(string(body), "disk is full") {
			t.Fatalf("%s: %d %s", ct, res.StatusCode, body)
		}
	}
}
