package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const (
	letterExample   = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e70"
	followsExample  = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e71"
	loiExampleAgent = "agnes"
)

// The letter-of-intent example over HTTP, every response checked against
// docs/openapi.yaml: the contract's page carries its letter and aid (T2,
// 17 500), the letter's payments are its aid, the contract's audit trail
// starts with the letter's events, and one contract's export shows the
// aid first. An agent limited to another CPAM may not record a letter.
func TestLetterOfIntentOverHTTP(t *testing.T) {
	a := newAPI(t)
	rhoneLetter := bytes.ReplaceAll(bytes.Split(example(t, "letter-of-intent.jsonl"), []byte("\n"))[0], []byte(loiret), []byte(rhone))
	rhoneLetter = bytes.Replace(rhoneLetter, []byte("loi-validate"), []byte("loi-rhone"), 1)
	if r := a.do("loic", http.MethodPost, "/api/v1/commands", ndjson, append(rhoneLetter, '\n')); r.status != http.StatusForbidden ||
		!strings.Contains(string(r.body), "validates a letter of intent") {
		t.Fatalf("a Loiret agent recorded a Rhône letter: %d %s", r.status, r.body)
	}
	for _, r := range a.submit(loiExampleAgent, example(t, "letter-of-intent.jsonl")) {
		if !r.OK {
			t.Fatalf("%+v", r)
		}
	}
	var detail struct {
		LetterOfIntent struct {
			LetterID string `json:"letter_id"`
			Tier     string `json:"tier"`
			Aid      struct {
				Kind   string `json:"kind"`
				Amount string `json:"amount"`
			} `json:"aid"`
			ContractID string `json:"contract_id"`
		} `json:"letter_of_intent"`
	}
	r := a.do("audrey", http.MethodGet, "/api/v1/contracts/"+followsExample, "", nil)
	if err := json.Unmarshal(r.body, &detail); r.status != http.StatusOK || err != nil {
		t.Fatalf("%d %s %v", r.status, r.body, err)
	}
	if l := detail.LetterOfIntent; l.LetterID != letterExample || l.Tier != "T2" || l.Aid.Kind != "letter_of_intent" || l.Aid.Amount != "17500.00" || l.ContractID != followsExample {
		t.Fatalf("the contract's letter: %+v", l)
	}
	r = a.do("audrey", http.MethodGet, "/api/v1/letters/"+letterExample, "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"contract_id": "`+followsExample+`"`) || !strings.Contains(string(r.body), `"amount": "17500.00"`) {
		t.Fatalf("the letter: %d %s", r.status, r.body)
	}
	if r := a.do("audrey", http.MethodGet, "/api/v1/letters/"+followsExample, "", nil); r.status != http.StatusNotFound {
		t.Fatalf("a contract's id as a letter: %d %s", r.status, r.body)
	}
	r = a.do("audrey", http.MethodGet, "/api/v1/contracts/"+letterExample+"/payments", "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"kind": "letter_of_intent"`) {
		t.Fatalf("the letter's payments: %d %s", r.status, r.body)
	}
	r = a.do("audrey", http.MethodGet, "/api/v1/contracts/"+followsExample+"/audit", "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"stream": "cpts-`+letterExample+`"`) {
		t.Fatalf("the contract's audit trail: %d %.400s", r.status, r.body)
	}
	r = a.do("fanny", http.MethodGet, "/api/v1/exports/payments.csv?contract="+followsExample+"&per=payment", "", nil)
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	if r.status != http.StatusOK || len(lines) < 3 || !strings.HasPrefix(lines[1], letterExample+",cpts,CPTS du Giennois,CPAM du Loiret") || !strings.Contains(lines[1], ",letter_of_intent,") {
		t.Fatalf("the contract's export: %d %s", r.status, r.body)
	}
}
