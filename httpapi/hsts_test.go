package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cptsledger/ledger/eventstore/embedded"
)

// Under TLS every answer carries Strict-Transport-Security; over plain
// HTTP (loopback behind a proxy) none does.
func TestHSTSUnderTLS(t *testing.T) {
	s := New(Config{})
	for _, tc := range []struct {
		srv  *httptest.Server
		want string
	}{{httptest.NewTLSServer(s.Handler()), "max-age=31536000"}, {httptest.NewServer(s.Handler()), ""}} {
		res, err := tc.srv.Client().Get(tc.srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Strict-Transport-Security"); got != tc.want || res.StatusCode != http.StatusOK {
			t.Errorf("%s: %d, HSTS %q, want %q", tc.srv.URL, res.StatusCode, got, tc.want)
		}
		tc.srv.Close()
	}
}

// /readyz answers 503, saying why, while the relay is stalled, and 200
// once it moves again.
func TestReadyzSaysTheRelayIsStalled(t *testing.T) {
	var stalled atomic.Bool
	store, err := embedded.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	s := New(Config{Store: store, RelayStalled: func(context.Context) (bool, error) { return stalled.Load(), nil }})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	get := func() (int, string) {
		res, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusOK {
		t.Fatalf("a moving relay: %d %s", code, body)
	}
	stalled.Store(true)
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "relay") {
		t.Fatalf("a stalled relay: %d %s", code, body)
	}
}
