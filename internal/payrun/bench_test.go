package payrun_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/gen"
	"github.com/cptsledger/ledger/internal/payrun"
	"github.com/cptsledger/ledger/internal/sepa"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

// BenchmarkPaymentRun is a first payment run over a generated ledger (120
// CPTS, 1 000 aid contracts, every beneficiary's account confirmed): the
// orders recorded (one fsynced command per contract) and the pain.001
// written and checked against its schema. The ledger is built outside the
// timer, once per iteration; run it with -benchtime=1x.
func BenchmarkPaymentRun(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		s, spec := payableGenerated(b)
		out := filepath.Join(b.TempDir(), "run.xml")
		b.StartTimer()
		rep, err := payrun.Run(context.Background(), s.agent, s.q, spec, out, nil)
		if err != nil || rep.Orders == 0 {
			b.Fatalf("%+v %v", rep.Orders, err)
		}
		b.ReportMetric(float64(rep.Orders), "orders")
	}
}

func payableGenerated(b *testing.B) (small, app.RunSpec) {
	dir := b.TempDir()
	store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	models := projections.NewSet(dir, nil)
	b.Cleanup(func() { models.Close(); store.Close() })
	today := domain.MustDate("2024-06-30")
	lines, _ := gen.National(gen.Options{Seed: 3, Contracts: 120, Today: today})
	lines = append(lines, gen.Aid(gen.AidOptions{Seed: 3, Contracts: 1000, Today: today})...)
	s := small{agent: app.New(store, app.Options{Actor: "agnes", ReplayHistory: true}),
		second: app.New(store, app.Options{Actor: "carole", ReplayHistory: true}), q: query.New(store, models, app.DefaultSchemes()), store: store}
	cpams := map[string]bool{}
	for _, l := range lines {
		var h struct {
			Type, ContractID, LetterID, CPAM string
		}
		var raw map[string]any
		json.Unmarshal(l, &raw)
		h.Type, _ = raw["type"].(string)
		h.ContractID, _ = raw["contract_id"].(string)
		h.CPAM, _ = raw["cpam"].(string)
		if r, err := s.agent.Submit(context.Background(), l); err != nil || !r.OK {
			b.Fatalf("%s: %+v %v", l, r.Error, err)
		}
		stream := map[string]string{"SignContract": "cpts-", "SignAidContract": "assistant-"}[h.Type]
		if stream == "" {
			continue
		}
		s.submitB(b, s.agent, fmt.Sprintf(`{"type":"RecordBankAccount","command_id":"acct","contract_id":%q,"iban":"FR7630006000011234567890189","holder":"B","effective_on":"2019-09-01"}`, h.ContractID))
		s.submitB(b, s.second, fmt.Sprintf(`{"type":"ConfirmBankAccount","command_id":"confirm","contract_id":%q,"account":%q}`, h.ContractID, domain.EventID(stream+h.ContractID, "acct", 0)))
		if !cpams[h.CPAM] {
			cpams[h.CPAM] = true
			s.submitB(b, s.agent, fmt.Sprintf(`{"type":"RecordPayerAccount","command_id":"payer-%d","cpam":%q,"iban":"FR7630001007941234567890185","name":"CPAM","effective_on":"2019-09-01"}`, len(cpams), h.CPAM))
		}
	}
	spec, err := payrun.Spec(payrun.Options{RunID: "BENCH", Through: today.String(), ExecutionDate: "2024-07-01", Actor: "fanny"})
	if err != nil {
		b.Fatal(err)
	}
	return s, spec
}

func (s small) submitB(b *testing.B, l *app.Ledger, line string) {
	if r, err := l.Submit(context.Background(), []byte(line)); err != nil || !r.OK {
		b.Fatalf("%s: %+v %v", line, r.Error, err)
	}
}

// BenchmarkWritePain001 writes a file of 10 000 transfers, checked
// against the EPC's schema before it is written.
func BenchmarkWritePain001(b *testing.B) {
	init := sepa.Initiation{MessageID: "B", Created: time.Now(), Initiator: "Assurance Maladie"}
	batch := sepa.Batch{ID: "B-1", ExecutionDate: domain.MustDate("2024-07-01"), Debtor: sepa.Party{Name: "CPAM", IBAN: "FR7630001007941234567890185"}}
	for i := range 10_000 {
		batch.Transfers = append(batch.Transfers, sepa.Transfer{EndToEndID: fmt.Sprintf("%032x", i), Amount: domain.MustMoney("1234.56"),
			Creditor: sepa.Party{Name: "Beneficiary", IBAN: "FR7630006000011234567890189"}, Remittance: "ACI CPTS aci-cpts-2019 contrat annual advance annee 3"})
	}
	init.Batches = []sepa.Batch{batch}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := sepa.WritePain001(&buf, init); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

// BenchmarkReadCamt053 reads a statement of 10 000 entries, checked
// against its schema first.
func BenchmarkReadCamt053(b *testing.B) {
	st := sepa.Statement{MessageID: "M", ID: "S", IBAN: "FR7630001007941234567890185", Created: time.Now(), Closing: domain.MustMoney("1.00")}
	for i := range 10_000 {
		st.Bookings = append(st.Bookings, sepa.Booking{Amount: domain.MustMoney("1234.56"), BookedOn: domain.MustDate("2024-07-01"), Reference: "R", EndToEndID: fmt.Sprintf("%032x", i)})
	}
	var doc bytes.Buffer
	if err := sepa.WriteCamt053(&doc, st); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(doc.Len()))
	for b.Loop() {
		if _, err := sepa.ReadCamt053(doc.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}
