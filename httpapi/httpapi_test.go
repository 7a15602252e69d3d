package httpapi

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/docs"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/personal"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

const (
	t2      = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80" // examples/t2-contract.jsonl, CPAM du Loiret
	aidID   = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e90" // examples/aid-contract.jsonl, CPAM du Loiret
	other   = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e81" // the t2 example again, for CPAM du Rhône
	loiret  = "CPAM du Loiret"
	rhone   = "CPAM du Rhône"
	jsonCT  = "application/json"
	ndjson  = "application/x-ndjson"
	noToken = ""
)

// testAPI is the API over a real store, served by a real HTTP server, with
// a token for each role, and every response checked against
// docs/openapi.yaml.
type testAPI struct {
	t      *testing.T
	srv    *httptest.Server
	store  *embedded.Store
	tokens map[string]string // by name
	router routers.Router
	doc    *openapi3.T
	keys   *personal.Store
}

func newAPI(t *testing.T) *testAPI {
	t.Helper()
	// The tests' histories are replayed as they happened (their acts dated
	// years ago); TestBackdatedActsAreRefusedOverHTTP runs on the clock.
	return newAPIWith(t, app.Options{ReplayHistory: true})
}

func newAPIWith(t *testing.T, opts app.Options) *testAPI {
	t.Helper()
	dir := t.TempDir()
	store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	models := projections.NewSet(dir, nil)
	t.Cleanup(func() { models.Close(); store.Close() })
	tokens := auth.Open(dir)
	a := &testAPI{t: t, store: store, tokens: map[string]string{}}
	for _, id := range []auth.Identity{
		{Name: "audrey", Role: auth.Auditor}, {Name: "fanny", Role: auth.Finance}, {Name: "agnes", Role: auth.Agent},
		{Name: "loic", Role: auth.Agent, CPAM: loiret}, {Name: "ada", Role: auth.Admin}, {Name: "kim", Role: auth.KeyReader},
	} {
		tok, err := tokens.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		a.tokens[id.Name] = tok
	}
	reads := query.New(store, models, app.DefaultSchemes())
	a.keys = personal.At(dir)
	t.Cleanup(func() { a.keys.Close() })
	s := New(Config{Replay: opts.ReplayHistory, Store: store, Commands: app.New(store, opts), Reads: reads, Models: models, Tokens: tokens,
		ProjectionLag: func(ctx context.Context) (int64, error) { return 0, nil }, Keys: a.keys})
	a.srv = httptest.NewServer(s.Handler())
	t.Cleanup(a.srv.Close)
	a.router, a.doc = openAPIRouter(t)
	return a
}

// openAPIRouter loads and validates docs/openapi.yaml.
func openAPIRouter(t *testing.T) (routers.Router, *openapi3.T) {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("docs/openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	doc.Servers = nil // match the test server's address
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return router, doc
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) problem(t *testing.T) Problem {
	t.Helper()
	var p Problem
	if err := json.Unmarshal(r.body, &p); err != nil || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("not a problem (%s): %s", r.header.Get("Content-Type"), r.body)
	}
	return p
}

// do sends a request as the token named who ("" for none) and checks the
// response against the OpenAPI document.
func (a *testAPI) do(who, method, path, contentType string, body []byte) response {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if who != "" {
		tok, ok := a.tokens[who]
		if !ok {
			tok = who // a raw token
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	a.validate(req, res, out)
	return response{res.StatusCode, res.Header, out}
}

// validate checks a response against the document, for the routes it
// describes (an unknown route's 404 has none).
func (a *testAPI) validate(req *http.Request, res *http.Response, body []byte) {
	a.t.Helper()
	route, params, err := a.router.FindRoute(req)
	if err != nil {
		if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed {
			return
		}
		a.t.Fatalf("%s %s: not in docs/openapi.yaml: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: res.StatusCode, Header: res.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		a.t.Fatalf("%s %s → %d does not match docs/openapi.yaml: %v\n%s", req.Method, req.URL.String(), res.StatusCode, err, body)
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), ndjson) {
		result := a.doc.Components.Schemas["Result"].Value
		for _, line := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
			var v any
			if err := json.Unmarshal(line, &v); err != nil {
				a.t.Fatalf("a result line is not JSON: %q", line)
			}
			if err := result.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
				a.t.Fatalf("result line %s does not match the Result schema: %v", line, err)
			}
		}
	}
}

// JSON lines have no decoder in kin-openapi: the document describes them
// as a string, and validate checks each line against the Result schema.
// CSV is a string too (kin-openapi's decoder knows only commas; the export
// takes any separator).
func init() {
	asText := func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(r)
		return string(b), err
	}
	openapi3filter.RegisterBodyDecoder(ndjson, asText)
	openapi3filter.RegisterBodyDecoder("text/csv", asText)
	openapi3filter.RegisterBodyDecoder("application/xml", asText) // a payment file: its schema is the EPC's, checked by internal/sepa
}

func (a *testAPI) head() eventstore.Position {
	a.t.Helper()
	h, err := a.store.Head(context.Background())
	if err != nil {
		a.t.Fatal(err)
	}
	return h
}

// example returns the lines of an example file.
func example(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile("../examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// otherCPAM is the t2 example as a contract of CPAM du Rhône.
func otherCPAM(t *testing.T) []byte {
	t.Helper()
	s := strings.ReplaceAll(string(example(t, "t2-contract.jsonl")), t2, other)
	return []byte(strings.ReplaceAll(s, loiret, rhone))
}

func (a *testAPI) submit(who string, lines []byte) []app.Result {
	a.t.Helper()
	r := a.do(who, http.MethodPost, "/api/v1/commands", ndjson, lines)
	if r.status != http.StatusOK {
		a.t.Fatalf("submit as %s: %d %s", who, r.status, r.body)
	}
	var out []app.Result
	for _, l := range bytes.Split(bytes.TrimSpace(r.body), []byte("\n")) {
		var res app.Result
		if err := json.Unmarshal(l, &res); err != nil {
			a.t.Fatalf("result line %q: %v", l, err)
		}
		out = append(out, res)
	}
	return out
}

// The key-reader role reads a key of a doctor's personal data, never
// cached; once the key is destroyed, 410 key_erased; a key never held,
// 404; no other role reads keys.
func TestPersonalKeysForTheKeyReader(t *testing.T) {
	a := newAPI(t)
	id, key, err := a.keys.KeyFor("10001234567")
	if err != nil {
		t.Fatal(err)
	}
	r := a.do("kim", "GET", "/api/v1/personal-keys/"+id, "", nil)
	var got PersonalKey
	json.Unmarshal(r.body, &got)
	if r.status != http.StatusOK || got.Key != base64.StdEncoding.EncodeToString(key) || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the key: %d %s", r.status, r.body)
	}
	// A consumer opens a sealed event as docs/privacy.md says, with no
	// code of the ledger: the nonce first, the key id as associated data.
	data, _ := domain.SealData(a.keys, "10001234567", uuid.New(), []byte(`{"doctor":{"rpps":"10001234567"}}`),
		[]domain.PersonalField{{Path: "doctor.rpps", Text: true}})
	var sealed struct {
		Personal struct {
			KeyID  string `json:"key_id"`
			Sealed string `json:"sealed"`
		} `json:"personal"`
	}
	json.Unmarshal(data, &sealed)
	k, _ := base64.StdEncoding.DecodeString(got.Key)
	block, _ := aes.NewCipher(k)
	aead, _ := cipher.NewGCM(block)
	b, _ := base64.StdEncoding.DecodeString(sealed.Personal.Sealed)
	plain, err := aead.Open(nil, b[:12], b[12:], []byte("cptsledger/personal/v1\n"+sealed.Personal.KeyID))
	if err != nil || string(plain) != `{"doctor.rpps":"10001234567"}` || sealed.Personal.KeyID != id {
		t.Fatalf("a consumer opening a sealed part: %v %s", err, plain)
	}
	for _, who := range []string{"audrey", "fanny", "agnes", "ada"} {
		if r := a.do(who, "GET", "/api/v1/personal-keys/"+id, "", nil); r.status != http.StatusForbidden {
			t.Fatalf("%s reads a key: %d", who, r.status)
		}
	}
	if r := a.do("kim", "GET", "/api/v1/personal-keys/"+uuid.NewString(), "", nil); r.status != http.StatusNotFound {
		t.Fatalf("a key never held: %d", r.status)
	}
	if r := a.do("kim", "GET", "/api/v1/personal-keys/not-a-key", "", nil); r.status != http.StatusBadRequest {
		t.Fatalf("not a key id: %d", r.status)
	}
	a.keys.Destroy(id, time.Now())
	if r := a.do("kim", "GET", "/api/v1/personal-keys/"+id, "", nil); r.status != http.StatusGone || r.problem(t).Code != CodeKeyErased {
		t.Fatalf("a destroyed key: %d %s", r.status, r.body)
	}
}
