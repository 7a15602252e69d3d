package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/query"
)

// Every route answers its success path, and every answer matches the
// OpenAPI document.
func TestEveryRouteSucceeds(t *testing.T) {
	a := newAPI(t)
	results := a.submit("agnes", append(example(t, "t2-contract.jsonl"), example(t, "aid-contract.jsonl")...))
	for _, r := range results {
		if !r.OK {
			t.Fatalf("%s: %+v", r.CommandID, r.Error)
		}
	}
	// Submitting again is idempotent: every line a duplicate, nothing appended.
	head := a.head()
	for _, r := range a.submit("agnes", example(t, "t2-contract.jsonl")) {
		if !r.OK || (len(r.Events) > 0 && !r.Duplicate) {
			t.Fatalf("resubmitted %s: %+v", r.CommandID, r)
		}
	}
	if a.head() != head {
		t.Fatal("a resubmitted file appended events")
	}
	one := `{"type":"DecideDuePayments","command_id":"http-one","contract_id":"` + t2 + `","as_of":"2024-12-31"}`
	if r := a.do("agnes", "POST", "/api/v1/commands", jsonCT, []byte(one)); r.status != http.StatusOK {
		t.Fatalf("one command: %d %s", r.status, r.body)
	}
	// A type no scheme has is counted under "unknown", not under its name.
	bogus := `{"type":"Bogus` + strings.Repeat("x", 20) + `","command_id":"http-bogus","contract_id":"` + t2 + `"}`
	if r := a.do("agnes", "POST", "/api/v1/commands", jsonCT, []byte(bogus)); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("an unknown type: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ who, path, want string }{
		{"fanny", "/api/v1/contracts", `"contracts"`},
		{"fanny", "/api/v1/contracts?limit=1", `"next_cursor"`},
		{"fanny", "/api/v1/contracts?scheme=cpts&status=live&q=val", `"CPTS du Val de Loire"`},
		{"fanny", "/api/v1/contracts/" + t2, `"population": 62000`},
		{"fanny", "/api/v1/contracts/" + aidID, `"rpps": "10001234567"`},
		{"fanny", "/api/v1/contracts/" + t2 + "/payments", `"kind": "annual_advance"`},
		{"fanny", "/api/v1/contracts/" + t2 + "/payments?as_of=2021-01-01&known_at=2100-01-01T00:00:00Z", `"payment_id"`},
		{"fanny", "/api/v1/contracts/" + t2 + "/balance", `"decided_total"`},
		{"audrey", "/api/v1/contracts/" + t2 + "/audit", `"actor": "agnes"`},
		{"fanny", "/api/v1/alerts?as_of=2020-06-01&within=90", `"deadline"`},
		{"fanny", "/api/v1/schedule?as_of=2022-01-01&within=400", `"due_on"`},
		{"fanny", "/api/v1/totals?by=cpam", `"key": "total"`},
		{"fanny", "/api/v1/exports/payments.csv?sep=%3B&per=payment", "contract_id;scheme"},
		{"ada", "/api/v1/tokens", `"name": "loic"`},
		{"", "/api/openapi.yaml", "openapi: 3.1.0"},
		{"fanny", "/api/v1/contracts/" + t2 + "?as_of=2021-01-01", `"reported_years"`},
		{"", "/healthz", `"ok"`},
		{"", "/readyz", `"head"`},
		{"", "/metrics", "ledger_commands_total"},
	} {
		r := a.do(c.who, "GET", c.path, "", nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), c.want) {
			t.Errorf("GET %s as %q: %d, want 200 with %q:\n%.400s", c.path, c.who, r.status, c.want, r.body)
		}
	}
	// The first page of one ends where the next begins.
	var page query.ContractPage
	json.Unmarshal(a.do("fanny", "GET", "/api/v1/contracts?limit=1", "", nil).body, &page)
	var next query.ContractPage
	json.Unmarshal(a.do("fanny", "GET", "/api/v1/contracts?limit=1&cursor="+page.NextCursor, "", nil).body, &next)
	if len(page.Contracts) != 1 || len(next.Contracts) != 1 || next.Contracts[0].ContractID == page.Contracts[0].ContractID || next.NextCursor != "" {
		t.Fatalf("pages: %+v then %+v", page, next)
	}
	// Tokens: created (shown once), listed, revoked; a rebuild.
	r := a.do("ada", "POST", "/api/v1/tokens", jsonCT, []byte(`{"name":"newcomer","role":"finance"}`))
	var nt NewToken
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &nt) != nil || !strings.HasPrefix(nt.Token, "lgr_") {
		t.Fatalf("create token: %d %s", r.status, r.body)
	}
	a.tokens["newcomer"] = nt.Token
	if r := a.do("newcomer", "GET", "/api/v1/totals", "", nil); r.status != http.StatusOK {
		t.Fatalf("the new token: %d", r.status)
	}
	if r := a.do("ada", "DELETE", "/api/v1/tokens/newcomer", "", nil); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := a.do("newcomer", "GET", "/api/v1/totals", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("a revoked token: %d", r.status)
	}
	if r := a.do("ada", "POST", "/api/v1/rebuild", "", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"applied"`) {
		t.Fatalf("rebuild: %d %s", r.status, r.body)
	}
	metrics := string(a.do("", "GET", "/metrics", "", nil).body)
	for _, want := range []string{`ledger_commands_total{outcome="accepted",type="SignContract"} 1`, `ledger_commands_total{outcome="duplicate",type="SignContract"} 1`,
		`ledger_commands_total{outcome="accepted",type="DecideDuePayments"} 5`, `ledger_commands_total{outcome="rejected",type="unknown"} 1`,
		"ledger_events_appended_total", `ledger_http_requests_total{route="GET /api/v1/totals",status="401"} 1`, "ledger_projection_lag_events 0",
		"ledger_command_duration_seconds_bucket"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// routeCase is one route of the role matrix, with a request that succeeds
// for a role that has the right.
type routeCase struct {
	method, path, contentType, body string
	right                           string // which roles may: see allowed
}

// The role matrix: each role against each route — allowed, or 403 with
// nothing written — and no token, an unknown one or a revoked one: 401.
func TestRoleMatrix(t *testing.T) {
	a := newAPI(t)
	a.submit("agnes", example(t, "t2-contract.jsonl"))
	n := 0
	command := func() string {
		n++
		return fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"matrix-%d","contract_id":"%s","as_of":"2022-12-31"}`, n, t2)
	}
	allowed := map[string][]string{
		"contracts": {"audrey", "fanny", "agnes", "loic"},
		"finance":   {"audrey", "fanny"},
		"audit":     {"audrey"},
		"submit":    {"agnes", "loic"},
		"admin":     {"ada"},
		"any":       {"audrey", "fanny", "agnes", "loic", "ada"},
	}
	cases := []routeCase{
		{"POST", "/api/v1/commands", jsonCT, "", "submit"},
		{"GET", "/api/v1/contracts", "", "", "contracts"},
		{"GET", "/api/v1/contracts/" + t2, "", "", "contracts"},
		{"GET", "/api/v1/contracts/" + t2 + "/payments", "", "", "finance"},
		{"GET", "/api/v1/contracts/" + t2 + "/balance", "", "", "finance"},
		{"GET", "/api/v1/contracts/" + t2 + "/audit", "", "", "audit"},
		{"GET", "/api/v1/alerts", "", "", "finance"},
		{"GET", "/api/v1/schedule", "", "", "finance"},
		{"GET", "/api/v1/totals", "", "", "finance"},
		{"GET", "/api/v1/exports/payments.csv", "", "", "finance"},
		{"GET", "/api/v1/tokens", "", "", "admin"},
		{"POST", "/api/v1/rebuild", "", "", "admin"},
		{"GET", "/api/v1/rulebooks", "", "", "any"},
		{"POST", "/api/v1/rulebooks/amendments", jsonCT, testAmendment, "admin"},
	}
	revoked, _ := auth.Open(t.TempDir()).Create(auth.Identity{Name: "x", Role: auth.Admin}) // valid elsewhere, unknown here
	for _, c := range cases {
		for _, who := range []string{"audrey", "fanny", "agnes", "loic", "ada", noToken, "lgr_not-a-token", revoked} {
			body := c.body
			if c.method == "POST" && c.path == "/api/v1/commands" {
				body = command()
			}
			head := a.head()
			r := a.do(who, c.method, c.path, c.contentType, []byte(body))
			may := false
			for _, w := range allowed[c.right] {
				may = may || w == who
			}
			switch {
			case who == noToken || who == "lgr_not-a-token" || who == revoked:
				if r.status != http.StatusUnauthorized || r.problem(t).Code != CodeUnauthorized {
					t.Errorf("%s %s without a valid token: %d", c.method, c.path, r.status)
				}
			case may:
				if r.status/100 != 2 {
					t.Errorf("%s %s as %s: %d %s, want allowed", c.method, c.path, who, r.status, r.body)
				}
			default:
				if r.status != http.StatusForbidden || r.problem(t).Code != CodeForbidden {
					t.Errorf("%s %s as %s: %d, want 403", c.method, c.path, who, r.status)
				}
				if a.head() != head {
					t.Errorf("%s %s as %s: refused, yet events were written", c.method, c.path, who)
				}
			}
		}
	}
}

// testAmendment publishes T1's crisis plan.
const testAmendment = `{"type":"PublishRulebookAmendment","command_id":"matrix-amendment","amendment_id":"test-t1","amends":"aci-2022",` +
	`"effective_on":"2022-04-01","published_on":"2023-06-15","amounts":[{"tier":"T1","mission":"crisis","component":"fixed","amount":"15000"}],` +
	`"source":"test","reason":"T1 crisis plan"}`

// A rulebook amendment is an administrator's: an agent's token that
// posts one to /api/v1/commands, alone or among other lines, is refused
// and nothing is written; the administrator publishes it on its route, and
// GET /api/v1/rulebooks shows it; a rejected one is a 422 naming the rule.
func TestAmendmentsAreAnAdministrators(t *testing.T) {
	a := newAPI(t)
	head := a.head()
	for _, tc := range []struct{ ct, body string }{
		{jsonCT, testAmendment},
		{ndjson, `{"type":"DecideDuePayments","command_id":"x","contract_id":"` + t2 + `","as_of":"2022-12-31"}` + "\n" + testAmendment + "\n"},
	} {
		r := a.do("agnes", "POST", "/api/v1/commands", tc.ct, []byte(tc.body))
		if r.status != http.StatusForbidden || r.problem(t).Code != CodeForbidden || a.head() != head {
			t.Fatalf("an agent posting an amendment: %d %s, head %d → %d", r.status, r.body, head, a.head())
		}
	}
	// A crisis recognition: an agent's, but not one limited to a CPAM.
	crisis := `{"type":"RecogniseCrisis","command_id":"cr","ars":"ARS Centre-Val de Loire","from":"2022-10-01","to":"2023-03-31","recognised_on":"2022-12-01","reason":"épidémies"}`
	if r := a.do("loic", "POST", "/api/v1/commands", jsonCT, []byte(crisis)); r.status != http.StatusForbidden || a.head() != head {
		t.Fatalf("an agent limited to a CPAM recognising a crisis: %d %s", r.status, r.body)
	}
	if r := a.do("agnes", "POST", "/api/v1/commands", jsonCT, []byte(crisis)); r.status != http.StatusOK {
		t.Fatalf("an agent recognising a crisis: %d %s", r.status, r.body)
	}
	if r := a.do("ada", "POST", "/api/v1/rulebooks/amendments", jsonCT, []byte(testAmendment)); r.status != http.StatusOK || !strings.Contains(string(r.body), `"ok": true`) {
		t.Fatalf("the administrator publishing: %d %s", r.status, r.body)
	}
	retro := strings.NewReplacer(`"matrix-amendment"`, `"retro"`, `"test-t1"`, `"retro"`, `"T1"`, `"T3"`).Replace(testAmendment)
	r := a.do("ada", "POST", "/api/v1/rulebooks/amendments", jsonCT, []byte(retro))
	if r.status != http.StatusUnprocessableEntity || r.problem(t).Code != "amendment_retroactive" {
		t.Fatalf("a retroactive amendment: %d %s", r.status, r.body)
	}
	r = a.do("fanny", "GET", "/api/v1/rulebooks", "", nil)
	var rb query.Rulebooks
	if r.status != http.StatusOK || json.Unmarshal(r.body, &rb) != nil || len(rb.Amendments) != 1 || rb.Amendments[0].Actor != "ada" || rb.Amendments[0].ID != "test-t1" ||
		len(rb.Crises) != 1 || rb.Crises[0].Actor != "agnes" {
		t.Fatalf("GET /api/v1/rulebooks: %d %s", r.status, r.body)
	}
	// Known at a time before the publication, it is not there.
	r = a.do("fanny", "GET", "/api/v1/rulebooks?known_at=2000-01-01", "", nil)
	if json.Unmarshal(r.body, &rb) != nil || len(rb.Amendments) != 0 {
		t.Fatalf("known at 2000-01-01: %s", r.body)
	}
}

// An agent limited to one CPAM reads and writes that CPAM's contracts
// only; a request with one line of another CPAM writes nothing.
func TestAgentLimitedToOneCPAM(t *testing.T) {
	a := newAPI(t)
	a.submit("agnes", otherCPAM(t)) // a contract of CPAM du Rhône, by an unrestricted agent
	head := a.head()
	// loic (CPAM du Loiret) signs the Rhône contract's twin: refused.
	r := a.do("loic", "POST", "/api/v1/commands", ndjson, otherCPAM(t))
	if r.status != http.StatusForbidden || a.head() != head {
		t.Fatalf("signing another CPAM's contract: %d, head %d → %d", r.status, head, a.head())
	}
	// A file whose first lines are his and whose last writes the Rhône
	// contract: his lines are written, the last is answered as for a
	// contract that does not exist (judged where it is written, under the
	// contract's lock), naming no CPAM, and writes nothing.
	mixed := append(example(t, "t2-contract.jsonl"), []byte(`{"type":"DecideDuePayments","command_id":"sneak","contract_id":"`+other+`","as_of":"2024-01-01"}`+"\n")...)
	results := a.submit("loic", mixed)
	last := results[len(results)-1]
	if last.OK || last.Error.Code != "contract_not_found" || strings.Contains(last.Error.Message, "Rhône") {
		t.Fatalf("a mixed file's last line: %+v", last)
	}
	for _, res := range results[:len(results)-1] {
		if !res.OK {
			t.Fatalf("%+v", res.Error)
		}
	}
	if r := a.do("loic", "GET", "/api/v1/contracts/"+other, "", nil); r.status != http.StatusNotFound || strings.Contains(string(r.body), "Rhône") {
		t.Fatalf("reading another CPAM's contract: %d %s, want 404 as an unknown one", r.status, r.body)
	}
	if r := a.do("loic", "GET", "/api/v1/contracts/"+t2, "", nil); r.status != http.StatusOK {
		t.Fatalf("reading his own: %d", r.status)
	}
	var page query.ContractPage
	json.Unmarshal(a.do("loic", "GET", "/api/v1/contracts", "", nil).body, &page)
	if len(page.Contracts) != 1 || page.Contracts[0].CPAM != loiret {
		t.Fatalf("his search: %+v", page)
	}
	if r := a.do("loic", "GET", "/api/v1/contracts?cpam="+strings.ReplaceAll(rhone, " ", "%20"), "", nil); r.status != http.StatusForbidden {
		t.Fatalf("searching another CPAM: %d", r.status)
	}
	json.Unmarshal(a.do("agnes", "GET", "/api/v1/contracts", "", nil).body, &page)
	if len(page.Contracts) != 2 {
		t.Fatalf("an unrestricted agent sees %d contracts", len(page.Contracts))
	}
}

// What is submitted over HTTP is recorded as the token's name.
func TestActorIsTheTokenName(t *testing.T) {
	a := newAPI(t)
	a.submit("loic", example(t, "t2-contract.jsonl"))
	var events []query.AuditEvent
	if err := json.Unmarshal(a.do("audrey", "GET", "/api/v1/contracts/"+t2+"/audit", "", nil).body, &events); err != nil || len(events) < 10 {
		t.Fatalf("audit: %v %d", err, len(events))
	}
	for _, e := range events {
		if e.Actor != "loic" {
			t.Fatalf("event %d recorded as %q", e.Revision, e.Actor)
		}
	}
}

// Bad requests are problems that name the code, the field and the rule,
// and write nothing.
func TestProblems(t *testing.T) {
	a := newAPI(t)
	a.submit("agnes", example(t, "t2-contract.jsonl"))
	head := a.head()
	big := bytes.Repeat([]byte("x"), MaxBody+1)
	for _, c := range []struct {
		method, path, ct, body string
		status                 int
		code, field            string
	}{
		{"POST", "/api/v1/commands", jsonCT, `{"type":"SignContract",`, 422, domain.CodeMalformedJSON, ""},
		{"POST", "/api/v1/commands", jsonCT, `{"type":"DecideDuePayments","command_id":"u","contract_id":"` + t2 + `","as_of":"2024-01-01","colour":"red"}`, 422, domain.CodeUnknownField, "colour"},
		{"POST", "/api/v1/commands", jsonCT, `{"type":"StartMission","command_id":"m","contract_id":"` + t2 + `","mission":"nowhere","started_on":"2020-01-01"}`, 422, "unknown_mission", "mission"},
		{"POST", "/api/v1/commands", "text/plain", `{}`, 415, CodeUnsupportedMediaType, ""},
		{"POST", "/api/v1/commands", "", `{}`, 415, CodeUnsupportedMediaType, ""},
		{"POST", "/api/v1/commands", jsonCT, string(big[:domain.MaxCommandBytes+1]), 413, domain.CodeLineTooLong, ""},
		{"POST", "/api/v1/commands", ndjson, string(big), 413, CodeBodyTooLarge, ""},
		{"POST", "/api/v1/commands", jsonCT, ``, 400, domain.CodeMalformedJSON, ""},
		{"GET", "/api/v1/contracts/" + t2 + "/payments?as_of=2020-13-01", "", "", 400, CodeInvalidParameter, "as_of"},
		{"GET", "/api/v1/contracts/" + t2 + "/payments?as_of=1900-01-01", "", "", 400, CodeInvalidParameter, "as_of"},
		{"GET", "/api/v1/contracts/" + t2 + "/payments?known_at=yesterday", "", "", 400, CodeInvalidParameter, "known_at"},
		{"GET", "/api/v1/contracts/" + t2 + "/payments?colour=red", "", "", 400, CodeInvalidParameter, "colour"},
		{"GET", "/api/v1/contracts/not-a-uuid/payments", "", "", 400, CodeInvalidParameter, "id"},
		{"GET", "/api/v1/contracts/0190a0e2-7c4e-7b1a-9f3e-000000000000/payments", "", "", 404, CodeNotFound, ""},
		{"GET", "/api/v1/alerts?within=99999&status=late", "", "", 400, CodeInvalidParameter, "status"},
		{"GET", "/api/v1/totals?by=planet", "", "", 400, CodeInvalidParameter, "by"},
		{"GET", "/api/v1/contracts?limit=0&status=dead&cursor=zzz", "", "", 400, CodeInvalidParameter, "cursor"},
		{"GET", "/api/v1/exports/payments.csv?sep=ab", "", "", 400, CodeInvalidParameter, "sep"},
		{"GET", "/api/v1/nowhere", "", "", 404, CodeNotFound, ""},
	} {
		who := "audrey"
		if c.method == "POST" {
			who = "agnes"
		}
		r := a.do(who, c.method, c.path, c.ct, []byte(c.body))
		if r.status != c.status {
			t.Errorf("%s %s %.60q: %d, want %d: %.300s", c.method, c.path, c.body, r.status, c.status, r.body)
			continue
		}
		p := r.problem(t)
		if p.Code != c.code || p.Status != c.status || p.Detail == "" || p.Type != problemBase+p.Code {
			t.Errorf("%s %s: problem %+v, want code %s", c.method, c.path, p, c.code)
		}
		if c.field != "" {
			named := false
			for _, v := range p.Violations {
				named = named || v.Field == c.field
			}
			if !named {
				t.Errorf("%s %s: violations %+v do not name %s", c.method, c.path, p.Violations, c.field)
			}
		}
	}
	if a.head() != head {
		t.Fatal("a refused request wrote events")
	}
}

// The red team's first finding, over HTTP: an administrator publishing an
// amendment dated before the day the ledger records it is refused
// (backdated, naming published_on) and nothing is written; dated on the
// ledger's day it is published. The ledger's clock is the server's, never
// the client's.
func TestBackdatedActsAreRefusedOverHTTP(t *testing.T) {
	a := newAPIWith(t, app.Options{})
	head := a.head()
	r := a.do("ada", "POST", "/api/v1/rulebooks/amendments", jsonCT, []byte(testAmendment))
	if r.status != http.StatusUnprocessableEntity || r.problem(t).Code != domain.CodeBackdated || a.head() != head {
		t.Fatalf("an amendment published on 2023-06-15, recorded today: %d %s, head %d → %d", r.status, r.body, head, a.head())
	}
	if p := r.problem(t); len(p.Violations) != 1 || p.Violations[0].Field != "published_on" {
		t.Fatalf("the refusal names %+v, want published_on", p.Violations)
	}
	crisis := `{"type":"RecogniseCrisis","command_id":"cr","ars":"ARS Centre-Val de Loire","from":"2022-10-01","to":"2023-03-31","recognised_on":"2022-12-01","reason":"épidémies"}`
	if r := a.do("agnes", "POST", "/api/v1/commands", jsonCT, []byte(crisis)); r.status != http.StatusUnprocessableEntity || r.problem(t).Code != domain.CodeBackdated || a.head() != head {
		t.Fatalf("a recognition dated 2022-12-01, recorded today: %d %s", r.status, r.body)
	}
	// Tomorrow, not today: the test may run across midnight (a later day is
	// within recording_margin_days).
	tomorrow := domain.DateOf(time.Now()).AddDays(1).String()
	honest := strings.Replace(testAmendment, `"published_on":"2023-06-15"`, `"published_on":"`+tomorrow+`"`, 1)
	if r := a.do("ada", "POST", "/api/v1/rulebooks/amendments", jsonCT, []byte(honest)); r.status != http.StatusOK {
		t.Fatalf("the amendment published tomorrow: %d %s", r.status, r.body)
	}
}
