package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/auth"
)

// A typo in a filter is a 400 naming the field and what it may have meant,
// never an empty list: "Loiret" is not "CPAM du Loiret", "t2" not "T2".
func TestFiltersRefuseWhatNamesNothing(t *testing.T) {
	a := newAPI(t)
	a.submit("agnes", example(t, "t2-contract.jsonl"))
	for path, want := range map[string][2]string{
		"/api/v1/alerts?cpam=Loiret":                    {"cpam", `did you mean "CPAM du Loiret"?`},
		"/api/v1/schedule?cpam=cpam%20du%20loiret":      {"cpam", `did you mean "CPAM du Loiret"?`},
		"/api/v1/contracts?tier=t2":                     {"tier", `did you mean "T2"?`},
		"/api/v1/contracts?tier=T5":                     {"tier", `is not a tier of the rulebooks`},
		"/api/v1/alerts?ars=ARS%20Bretagne":             {"ars", `no contract names this ARS; known: ARS Centre-Val de Loire`},
		"/api/v1/contracts?cpam=CPAM%20du%20Rh%C3%B4ne": {"cpam", `no contract names this CPAM`},
	} {
		r := a.do("audrey", http.MethodGet, path, "", nil)
		if r.status != http.StatusBadRequest {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		p := r.problem(t)
		if len(p.Violations) != 1 || p.Violations[0].Field != want[0] || !strings.Contains(p.Violations[0].Rule, want[1]) {
			t.Errorf("%s: %+v", path, p.Violations)
		}
	}
	// The values that exist answer.
	for _, path := range []string{"/api/v1/alerts?cpam=CPAM%20du%20Loiret", "/api/v1/contracts?tier=T2", "/api/v1/schedule?cpam=CPAM%20du%20Loiret"} {
		if r := a.do("audrey", http.MethodGet, path, "", nil); r.status != http.StatusOK {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
}

// A query parameter given twice is refused, naming it; a route without
// parameters says it takes none.
func TestRepeatedAndUnknownParameters(t *testing.T) {
	a := newAPI(t)
	r := a.do("audrey", http.MethodGet, "/api/v1/contracts?limit=5&limit=6", "", nil)
	if r.status != http.StatusBadRequest {
		t.Fatalf("limit twice: %d %s", r.status, r.body)
	}
	if p := r.problem(t); len(p.Violations) != 1 || p.Violations[0].Field != "limit" || !strings.Contains(p.Violations[0].Rule, "given 2 times") {
		t.Fatalf("limit twice: %+v", p)
	}
	r = a.do("ada", http.MethodGet, "/api/v1/tokens?x=1", "", nil)
	if p := r.problem(t); r.status != http.StatusBadRequest || !strings.HasSuffix(p.Detail, "this route takes: none") {
		t.Fatalf("a parameter of a route that takes none: %d %+v", r.status, p)
	}
}

// A route that takes JSON answers 415 to anything else; the rebuild,
// which takes nothing, refuses a body.
func TestBodiesOfTheirType(t *testing.T) {
	a := newAPI(t)
	for _, ct := range []string{"", "text/plain", "application/xml"} {
		r := a.do("ada", http.MethodPost, "/api/v1/tokens", ct, []byte(`{"name":"x","role":"auditor"}`))
		if r.status != http.StatusUnsupportedMediaType {
			t.Errorf("a token as %q: %d %s", ct, r.status, r.body)
		}
	}
	if r := a.do("ada", http.MethodPost, "/api/v1/rebuild", "application/json", []byte(`{"all":true}`)); r.status != http.StatusBadRequest {
		t.Errorf("a rebuild with a body: %d %s", r.status, r.body)
	}
	if r := a.do("ada", http.MethodPost, "/api/v1/rebuild", "", nil); r.status != http.StatusOK {
		t.Errorf("a rebuild: %d %s", r.status, r.body)
	}
}

// A single command refused to a limited agent is named as "the command",
// not "line 0".
func TestASingleCommandIsNamedSo(t *testing.T) {
	a := newAPI(t)
	sign := bytes.Split(otherCPAM(t), []byte("\n"))[0]
	r := a.do("loic", http.MethodPost, "/api/v1/commands", "application/json", sign)
	if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "the command signs a contract") || strings.Contains(string(r.body), "line 0") {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// Every operation and every tag of the description says what it does, and
// every tag an operation names is declared.
func TestTheDescriptionDescribes(t *testing.T) {
	_, doc := openAPIRouter(t)
	declared := map[string]bool{}
	for _, tag := range doc.Tags {
		declared[tag.Name] = true
		if tag.Description == "" {
			t.Errorf("tag %s has no description", tag.Name)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Description == "" || op.Summary == "" {
				t.Errorf("%s %s has no description", method, path)
			}
			for _, tag := range op.Tags {
				if !declared[tag] {
					t.Errorf("%s %s: tag %s is not declared", method, path, tag)
				}
			}
		}
	}
}

// A described path asked with another method is a 405 problem with the
// Allow header — under /api/ and outside it (/healthz, /metrics), where
// the console would otherwise answer with an HTML page — and the methods
// it takes still answer.
func TestMethodsNotAllowedAreProblems(t *testing.T) {
	a := newAPI(t)
	html := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<!doctype html><p>page</p>"))
	})
	s := New(Config{Store: a.store, Tokens: auth.Open(t.TempDir()), Console: html,
		ProjectionLag: func(context.Context) (int64, error) { return 0, nil }})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, c := range []struct{ method, path, allow string }{
		{http.MethodPost, "/healthz", "GET, HEAD"},
		{http.MethodDelete, "/readyz", "GET, HEAD"},
		{http.MethodPut, "/metrics", "GET, HEAD"},
		{http.MethodPost, "/api/openapi.yaml", "GET, HEAD"},
		{http.MethodPut, "/api/v1/contracts", "GET, HEAD"},
		{http.MethodPatch, "/api/v1/tokens", "GET, HEAD, POST"},
		{http.MethodGet, "/api/v1/tokens/someone", "DELETE"},
		{http.MethodGet, "/api/v1/commands", "POST"},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var p Problem
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Content-Type") != "application/problem+json" ||
			json.Unmarshal(body, &p) != nil || p.Code != CodeMethodNotAllowed {
			t.Errorf("%s %s: %d %s %s", c.method, c.path, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		if got := res.Header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	// The methods described still answer; a path outside the API is the
	// console's.
	for path, want := range map[string]int{"/healthz": 200, "/api/openapi.yaml": 200, "/api/v1/contracts": 401, "/elsewhere": 404} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, res.StatusCode, want)
		}
	}
}
