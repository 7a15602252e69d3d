package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/sepa"
)

// The finance role over HTTP: an agent records a beneficiary's account
// and another agent confirms it; the finance role records the payer's
// account, runs the payments (an agent may not), reads the month
// reconciled and the overpayments, imports a statement (one that fails
// its schema is a 422 and records nothing); an agent may not decide a
// contest, the finance role may not record an account. Every answer
// matches docs/openapi.yaml.
func TestTreasuryOverHTTP(t *testing.T) {
	a := newAPI(t)
	a.submit("agnes", example(t, "t2-contract.jsonl"))
	one := func(who, line string) response {
		return a.do(who, http.MethodPost, "/api/v1/commands", jsonCT, []byte(line))
	}
	if r := one("agnes", `{"type":"RecordBankAccount","command_id":"acct","contract_id":"`+t2+`","iban":"FR7630006000011234567890189","holder":"CPTS du Val de Loire","effective_on":"2019-11-15"}`); r.status != http.StatusOK {
		t.Fatalf("record: %d %s", r.status, r.body)
	}
	account := domain.EventID("cpts-"+t2, "acct", 0).String()
	if r := one("agnes", `{"type":"ConfirmBankAccount","command_id":"confirm-self","contract_id":"`+t2+`","account":"`+account+`"}`); r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), domain.CodeSameActor) {
		t.Fatalf("confirmed by who recorded it: %d %s", r.status, r.body)
	}
	if r := one("loic", `{"type":"ConfirmBankAccount","command_id":"confirm","contract_id":"`+t2+`","account":"`+account+`"}`); r.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	if r := a.do("fanny", http.MethodGet, "/api/v1/contracts/"+t2, "", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"iban": "FR*********************0189"`) ||
		strings.Contains(string(r.body), "FR7630006000011234567890189") {
		t.Fatalf("the contract's account, masked: %d %s", r.status, r.body)
	}
	if r := one("fanny", `{"type":"RecordBankAccount","command_id":"acct-f","contract_id":"`+t2+`","iban":"FR7630006000011234567890189","holder":"x","effective_on":"2019-11-15"}`); r.status != http.StatusForbidden {
		t.Fatalf("the finance role recorded an account: %d %s", r.status, r.body)
	}
	if r := one("agnes", `{"type":"DecideContest","command_id":"d","contract_id":"`+t2+`","overpayment":"`+account+`","outcome":"upheld","decided_on":"2023-01-01","reason":"x"}`); r.status != http.StatusForbidden {
		t.Fatalf("an agent decided a contest: %d %s", r.status, r.body)
	}
	if r := one("fanny", `{"type":"RecordPayerAccount","command_id":"payer","cpam":"CPAM du Loiret","iban":"FR7630001007941234567890185","name":"CPAM du Loiret","effective_on":"2019-09-01"}`); r.status != http.StatusOK {
		t.Fatalf("payer: %d %s", r.status, r.body)
	}
	run := `{"through":"2022-04-30","execution_date":"2022-05-02","run_id":"HTTP-1"}`
	if r := a.do("agnes", http.MethodPost, "/api/v1/payment-runs", jsonCT, []byte(run)); r.status != http.StatusForbidden {
		t.Fatalf("an agent ran the payments: %d %s", r.status, r.body)
	}
	if r := a.do("fanny", http.MethodPost, "/api/v1/payment-runs", "text/plain", []byte(run)); r.status != http.StatusUnsupportedMediaType {
		t.Fatalf("a run as text: %d %s", r.status, r.body)
	}
	r := a.do("fanny", http.MethodPost, "/api/v1/payment-runs", jsonCT, []byte(run))
	var rep struct {
		Orders int    `json:"orders"`
		Total  string `json:"total"`
	}
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &rep) != nil || rep.Orders != 9 || rep.Total != "477752.04" {
		t.Fatalf("the run: %d %s", r.status, r.body)
	}
	if r := a.do("fanny", http.MethodGet, "/api/v1/payment-runs/HTTP-1/pain.001", "", nil); r.status != http.StatusOK || r.header.Get("Content-Type") != "application/xml" {
		t.Fatalf("the run's file: %d %s", r.status, r.body)
	} else if transfers, err := sepa.ReadPain001(r.body); err != nil || len(transfers) != 9 {
		t.Fatalf("the run's file: %d transfers, %v", len(transfers), err)
	}
	if r := a.do("fanny", http.MethodGet, "/api/v1/payment-runs/NOPE/pain.001", "", nil); r.status != http.StatusNotFound {
		t.Fatalf("an unknown run's file: %d %s", r.status, r.body)
	}
	if r := a.do("audrey", http.MethodGet, "/api/v1/payment-runs/HTTP-1/pain.001", "", nil); r.status != http.StatusForbidden {
		t.Fatalf("an auditor fetched a run's file: %d", r.status)
	}
	if r := a.do("fanny", http.MethodGet, "/api/v1/reconciliation?month=2022-05&cpam=CPAM%20du%20Loiret", "", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"ordered_in_month": "477752.04"`) {
		t.Fatalf("the reconciliation: %d %s", r.status, r.body)
	}
	if r := a.do("fanny", http.MethodGet, "/api/v1/reconciliation?month=2022-13", "", nil); r.status != http.StatusBadRequest {
		t.Fatalf("month 13: %d %s", r.status, r.body)
	}
	if r := a.do("audrey", http.MethodGet, "/api/v1/overpayments?contract="+t2, "", nil); r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != "[]" {
		t.Fatalf("the overpayments: %d %s", r.status, r.body)
	}
	if r := a.do("fanny", http.MethodPost, "/api/v1/statements", "application/xml", []byte(`<Document/>`)); r.status != http.StatusUnprocessableEntity || r.problem(t).Code != CodeInvalidStatement {
		t.Fatalf("a statement outside its schema: %d %s", r.status, r.body)
	}
	if r := a.do("audrey", http.MethodPost, "/api/v1/statements", "application/xml", []byte(`<Document/>`)); r.status != http.StatusForbidden {
		t.Fatalf("an auditor imported a statement: %d %s", r.status, r.body)
	}
}
