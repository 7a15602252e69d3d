package relay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/sumdb/note"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/fixture"
	"github.com/cptsledger/ledger/internal/natstest"
	"github.com/cptsledger/ledger/internal/personal"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/relay"
)

// compileAsyncAPI loads docs/asyncapi.yaml and compiles the payload and
// header schemas of each message.
func compileAsyncAPI(t *testing.T) (payloads, headers map[string]*jsonschema.Schema) {
	t.Helper()
	raw, err := os.ReadFile("../docs/asyncapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	asJSON, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(asJSON))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("file:///asyncapi.json", inst); err != nil {
		t.Fatal(err)
	}
	var spec struct {
		AsyncAPI   string `json:"asyncapi"`
		Components struct {
			Messages map[string]any `json:"messages"`
		} `json:"components"`
	}
	json.Unmarshal(asJSON, &spec)
	if !strings.HasPrefix(spec.AsyncAPI, "3.") {
		t.Fatalf("asyncapi version %q, want 3.x", spec.AsyncAPI)
	}
	payloads, headers = map[string]*jsonschema.Schema{}, map[string]*jsonschema.Schema{}
	for name := range spec.Components.Messages {
		if payloads[name], err = c.Compile("file:///asyncapi.json#/components/messages/" + name + "/payload"); err != nil {
			t.Fatal(err)
		}
		if headers[name], err = c.Compile("file:///asyncapi.json#/components/messages/" + name + "/headers"); err != nil {
			t.Fatal(err)
		}
	}
	return payloads, headers
}

// The payloads and headers really published for the worked lifecycles of
// both schemes (every event type) validate against docs/asyncapi.yaml.
func TestPublishedPayloadsMatchAsyncAPI(t *testing.T) {
	payloads, headers := compileAsyncAPI(t)
	e := setup(t)
	ledger := app.New(e.store, app.Options{ReplayHistory: true, Schemes: fixture.Schemes(), Actor: "asyncapi-test"})
	// Every event type: the worked lifecycles, the worked corrections, and
	// the corrections they lack (of a termination, of terms, and the aid's).
	for _, f := range []struct {
		scheme string
		paths  []string
	}{
		{"cpts", []string{"../domain/cpts/testdata/aci-lifecycles.jsonl"}},
		{"cpts", []string{"../domain/cpts/testdata/aci-corrections.jsonl", "testdata/corrections-cpts.jsonl"}},
		{"assistant", []string{"../domain/assistant/testdata/aid-lifecycles.jsonl", "testdata/corrections-aid.jsonl",
			"../domain/assistant/testdata/aid-2024-lifecycles.jsonl"}},
	} {
		var lines [][]byte
		for _, p := range f.paths {
			lines = append(lines, fixture.Lines(t, p)...)
		}
		fixture.Submit(t, ledger, f.scheme, lines)
	}
	// The crisis mission, an amendment and a crisis recognition, under the
	// embedded rulebooks (aci-2022).
	embedded := app.New(e.store, app.Options{ReplayHistory: true, Actor: "asyncapi-test"})
	fixture.Submit(t, embedded, "cpts", fixture.Lines(t, "../domain/cpts/testdata/crisis-cpts.jsonl"))
	// A letter of intent and the contract that follows it (its aid: a
	// payment of contract year 0), and an amendment of an amount of the
	// agreement itself (a row without a mission).
	fixture.Submit(t, embedded, "cpts", append(fixture.Lines(t, "../examples/letter-of-intent.jsonl"),
		[]byte(`{"type":"PublishRulebookAmendment","command_id":"am-loi","amendment_id":"aci-2022-loi-t1","amends":"aci-2022","effective_on":"2024-01-01","published_on":"2023-12-01","amounts":[{"tier":"T1","component":"letter_of_intent","amount":"16000"}],"source":"test","reason":"letter-of-intent aid"}`)))
	// The treasury: an account recorded for the letter of intent's
	// beneficiary, confirmed by another person, and its aid ordered.
	const letter = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e70"
	fixture.Submit(t, embedded, "cpts", [][]byte{[]byte(`{"type":"RecordPayerAccount","command_id":"payer","cpam":"CPAM du Loiret","iban":"FR7630001007941234567890185","bic":"BDFEFRPPCCT","name":"CPAM du Loiret","effective_on":"2022-01-01"}`)})
	fixture.Submit(t, embedded, "cpts", [][]byte{[]byte(`{"type":"RecordBankAccount","command_id":"acct","contract_id":"` + letter + `","iban":"FR7630006000011234567890189","bic":"AGRIFRPP","holder":"CPTS du Giennois","effective_on":"2022-06-01"}`)})
	other := app.New(e.store, app.Options{ReplayHistory: true, Actor: "asyncapi-second-person"})
	fixture.Submit(t, other, "cpts", [][]byte{
		[]byte(`{"type":"ConfirmBankAccount","command_id":"confirm","contract_id":"` + letter + `","account":"` + domain.EventID("cpts-"+letter, "acct", 0).String() + `"}`),
		[]byte(`{"type":"OrderPayments","command_id":"order","contract_id":"` + letter + `","run_id":"run-1","through":"2022-12-31","execution_date":"2023-01-05"}`),
	})
	// The bank booked the order, then returned it.
	evs, _ := e.store.ReadStream(context.Background(), "cpts-"+letter, 0, 100)
	var ordered struct {
		OrderID string `json:"order_id"`
	}
	for _, ev := range evs {
		if ev.Type == domain.TypePaymentOrdered {
			json.Unmarshal(ev.Data, &ordered)
		}
	}
	fixture.Submit(t, other, "cpts", [][]byte{
		[]byte(`{"type":"SettlePayment","command_id":"settle","contract_id":"` + letter + `","order":"` + ordered.OrderID + `","booked_on":"2023-01-05","amount":"17500.00","bank_reference":"B1","statement":"S1"}`),
		[]byte(`{"type":"ReturnPayment","command_id":"return","contract_id":"` + letter + `","order":"` + ordered.OrderID + `","booked_on":"2023-01-12","amount":"17500.00","reason_code":"AC04","statement":"S2"}`),
	})
	overpaymentFlow(t, e.store, ledger)
	sealedFlow(t, e.store)
	head, _ := e.store.Head(context.Background())
	r := relay.New(e.store, e.js, e.db, relay.Options{})
	stop := runRelay(t, r)
	natstest.WaitFor(t, "all relayed", func() bool { return r.Stats().Position == head })
	stop()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cons, err := e.js.OrderedConsumer(ctx, relay.StreamName, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for n := 0; n < int(head); {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for msg := range batch.Messages() {
			n++
			var env struct{ Type string }
			json.Unmarshal(msg.Data(), &env)
			schema, ok := payloads[env.Type]
			if !ok {
				t.Fatalf("no message %s in docs/asyncapi.yaml", env.Type)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(msg.Data()))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(inst); err != nil {
				t.Fatalf("%s payload does not match docs/asyncapi.yaml: %v\n%s", env.Type, err, msg.Data())
			}
			if bytes.Contains(msg.Data(), []byte(sealedRPPS)) || bytes.Contains(msg.Data(), []byte("Dr Sealed")) {
				t.Fatalf("a sealed doctor's data went out on NATS in clear: %s", msg.Data())
			}
			hdr := map[string]any{}
			for k := range msg.Headers() {
				hdr[k] = msg.Headers().Get(k)
			}
			if err := headers[env.Type].Validate(hdr); err != nil {
				t.Fatalf("%s headers do not match docs/asyncapi.yaml: %v", env.Type, err)
			}
			seen[env.Type]++
		}
		if ctx.Err() != nil {
			t.Fatal("timed out")
		}
	}
	if len(seen) != len(payloads)-1 { // every event type; the checkpoint is the next test's
		t.Fatalf("validated types %v; the document describes %d messages", seen, len(payloads))
	}
	t.Logf("validated %v", seen)
}

// A checkpoint signed by the notary and published as serve publishes it
// matches the Checkpoint message of docs/asyncapi.yaml, headers included.
func TestPublishedCheckpointsMatchAsyncAPI(t *testing.T) {
	payloads, headers := compileAsyncAPI(t)
	e := setup(t)
	e.appendEvents(t, 10)
	dir := t.TempDir()
	tree, err := notary.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	skey, _, err := notary.GenerateKey("asyncapi-test")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tree.Checkpoint(context.Background(), e.store, notary.WithMemory(signer, filepath.Join(t.TempDir(), "signer.last")), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := relay.EnsureCheckpointStream(context.Background(), e.js, 1); err != nil {
		t.Fatal(err)
	}
	if err := relay.PublishCheckpoint(context.Background(), e.js, st.Origin, st.Size, []byte(st.Note)); err != nil {
		t.Fatal(err)
	}
	if last, err := relay.LastPublishedCheckpoint(context.Background(), e.js); err != nil || last != 10 {
		t.Fatalf("last published: %d %v", last, err)
	}
	stream, _ := e.js.Stream(context.Background(), relay.CheckpointStreamName)
	msg, err := stream.GetLastMsgForSubject(context.Background(), relay.CheckpointSubject)
	if err != nil {
		t.Fatal(err)
	}
	if err := payloads["Checkpoint"].Validate(string(msg.Data)); err != nil {
		t.Fatalf("payload does not match docs/asyncapi.yaml: %v\n%s", err, msg.Data)
	}
	hdr := map[string]any{}
	for k := range msg.Header {
		hdr[k] = msg.Header.Get(k)
	}
	if err := headers["Checkpoint"].Validate(hdr); err != nil {
		t.Fatalf("headers do not match docs/asyncapi.yaml: %v", err)
	}
}

// overpaymentFlow notifies the first negative decision of the worked
// corrections, contests it, upholds it and records a repayment: every
// overpayment event once.
func overpaymentFlow(t *testing.T, store eventstore.Store, ledger *app.Ledger) {
	t.Helper()
	ctx := context.Background()
	var contract string
	for after := eventstore.Position(0); contract == ""; {
		evs, err := store.ReadAll(ctx, after, 1000)
		if err != nil || len(evs) == 0 {
			t.Fatalf("no negative decision in the worked corrections (%v)", err)
		}
		for _, ev := range evs {
			var p struct {
				ContractID string `json:"contract_id"`
				Amount     string `json:"amount"`
			}
			if ev.Type == domain.TypePaymentDecided && json.Unmarshal(ev.Data, &p) == nil && strings.HasPrefix(p.Amount, "-") && contract == "" {
				contract = p.ContractID
			}
			after = ev.Position
		}
	}
	res, err := ledger.Submit(ctx, []byte(`{"type":"OrderPayments","command_id":"notice","contract_id":"`+contract+`","run_id":"run-notice","through":"2019-08-25","execution_date":"2024-01-04"}`))
	if err != nil || !res.OK || res.Events[0] != domain.TypeOverpaymentNotified {
		t.Fatalf("the notice: %+v %+v %v", res, res.Error, err)
	}
	stream := ""
	for _, s := range []string{"cpts-", "assistant-"} {
		if evs, _ := store.ReadStream(ctx, s+contract, 0, 1); len(evs) > 0 {
			stream = s + contract
		}
	}
	evs, _ := store.ReadStream(ctx, stream, 0, 10000)
	var n domain.OverpaymentNotified
	for _, ev := range evs {
		if ev.Type == domain.TypeOverpaymentNotified {
			json.Unmarshal(ev.Data, &n)
		}
	}
	id := n.OverpaymentID.String()
	for _, line := range []string{
		`{"type":"ContestOverpayment","command_id":"contest","contract_id":"` + contract + `","overpayment":"` + id + `","contested_on":"2024-01-10","reason":"contested"}`,
		`{"type":"DecideContest","command_id":"decide-contest","contract_id":"` + contract + `","overpayment":"` + id + `","outcome":"upheld","decided_on":"2024-02-01","reason":"upheld"}`,
		`{"type":"RecordRepayment","command_id":"repay","contract_id":"` + contract + `","overpayment":"` + id + `","booked_on":"2024-02-10","amount":"` + n.Amount.String() + `","statement":"S9"}`,
	} {
		if r, err := ledger.Submit(ctx, []byte(line)); err != nil || !r.OK {
			t.Fatalf("%s: %+v %v", line, r.Error, err)
		}
	}
}

const sealedRPPS = "10009998887"

// sealedFlow records an aid contract through a ledger that seals personal
// data: its signature, an account in the doctor's name, a termination with
// a reason, then the erasure of the doctor's data.
func sealedFlow(t *testing.T, store eventstore.Store) {
	keys := personal.At(t.TempDir())
	t.Cleanup(func() { keys.Close() })
	const id = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7eb1"
	sealed := app.New(store, app.Options{ReplayHistory: true, Schemes: app.WithKeys(fixture.Schemes(), keys), Actor: "asyncapi-test", Erasing: true})
	fixture.Submit(t, sealed, "assistant", [][]byte{
		[]byte(`{"type":"SignAidContract","command_id":"s-sign","contract_id":"` + id + `","cpam":"CPAM Test","doctor":{"rpps":"` + sealedRPPS + `","specialty":"general_practice","sector":1,"optam":false,"group_practice":true,"underserved_zone":false,"coordinated_practice":true,"patientele_percentile":40,"born_on":"1970-05-04"},"option":"1/2","signed_on":"2024-07-01","band":"below_p90","patientele_baseline":900,"patientele_target":1000}`),
		[]byte(`{"type":"RecordBankAccount","command_id":"s-acct","contract_id":"` + id + `","iban":"FR7630006000011234567890189","holder":"Dr Sealed","effective_on":"2024-07-01"}`),
		[]byte(`{"type":"TerminateContract","command_id":"s-end","contract_id":"` + id + `","terminated_on":"2024-09-01","reason":"Dr Sealed moved away"}`),
		[]byte(`{"type":"ErasePersonalData","command_id":"s-erase","contract_id":"` + id + `","reason":"the doctor asked","legal_basis":"GDPR art. 17(1)(a), the contract ended without payment","erased_on":"2026-01-05"}`),
	})
}
