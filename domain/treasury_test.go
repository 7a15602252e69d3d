package domain_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
)

// A decision of a negative amount is notified by the next run, with two
// months to pay or contest; one older than recovery_prescription_years is
// not: it is reported as prescribed.
func TestNoticesAndPrescription(t *testing.T) {
	id := uuid.New()
	recent := domain.PaymentDecided{PaymentID: uuid.New(), Kind: domain.KindRegularisation, ContractYear: 2, DecidedOn: domain.MustDate("2023-06-01"), Amount: domain.MustMoney("-100.00"), Status: domain.StatusDecided}
	old := domain.PaymentDecided{PaymentID: uuid.New(), Kind: domain.KindRegularisation, ContractYear: 1, DecidedOn: domain.MustDate("2020-06-01"), Amount: domain.MustMoney("-50.00"), Status: domain.StatusDecided}
	p := domain.Payee{ContractID: id, Stream: "cpts-" + id.String(), Signed: true, Payments: []domain.PaymentDecided{old, recent},
		Treasury: &domain.Treasury{}, PrescriptionYears: 3}
	cmd := domain.OrderPayments{CommandMeta: domain.CommandMeta{CommandID: "r", ContractID: id}, RunID: "R1",
		Through: domain.MustDate("2024-01-31"), ExecutionDate: domain.MustDate("2024-01-31")}
	events, _, err := domain.DecideTreasury(p, cmd)
	if err != nil || len(events) != 1 {
		t.Fatalf("%v %v", events, err)
	}
	n := events[0].(domain.OverpaymentNotified)
	if !n.Amount.Equal(domain.MustMoney("100.00")) || len(n.Payments) != 1 || n.Payments[0] != recent.PaymentID || n.Deadline != domain.MustDate("2024-03-31") {
		t.Fatalf("notice %+v", n)
	}
	_, blocked, _ := p.Plan(domain.Date{}, cmd.Through, cmd.ExecutionDate)
	if len(blocked) != 1 || blocked[0].Payment.PaymentID != old.PaymentID || blocked[0].Code != domain.BlockedPrescribed {
		t.Fatalf("blocked %+v", blocked)
	}
	// A run from a cutover leaves out what fell due before it, recoveries
	// included (the system before handled them).
	recent.DueOn = domain.MustDate("2023-06-01")
	p.Payments = []domain.PaymentDecided{recent}
	if p.HasUnnotified(domain.MustDate("2023-07-01"), cmd.ExecutionDate) || !p.HasUnnotified(domain.MustDate("2023-06-01"), cmd.ExecutionDate) {
		t.Fatal("a recovery due before the cutover is netted or notified, or one due on it is not")
	}
}
