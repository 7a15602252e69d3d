package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
)

const t2 = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"

// A bank account recorded by one person is paid only once another has
// confirmed it; the person who recorded it cannot; a bad check digit is
// refused naming the field; an order run twice orders nothing twice, and
// a payment is ordered to the account in force on the execution date.
func TestFourEyesThenOrders(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, filepath.Join(t.TempDir(), "events.db"))
	as := func(actor string) *app.Ledger { return app.New(store, app.Options{Actor: actor, ReplayHistory: true}) }
	submit := func(l *app.Ledger, line string) app.Result {
		t.Helper()
		r, err := l.Submit(ctx, []byte(line))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	example, err := os.ReadFile("../examples/t2-contract.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range splitLines(example) {
		if r := submit(as("agnes"), line); !r.OK {
			t.Fatalf("%s: %+v", line, r.Error)
		}
	}
	order := func(id, through string) string {
		return fmt.Sprintf(`{"type":"OrderPayments","command_id":%q,"contract_id":%q,"run_id":%q,"through":%q,"execution_date":"2022-05-02"}`, id, t2, id, through)
	}
	// No confirmed account: nothing is ordered, and the rejection says why.
	r := submit(as("fanny"), order("run-1", "2022-04-30"))
	if r.OK || r.Error.Code != domain.CodeNothingToOrder || len(r.Error.Violations) < 2 || r.Error.Violations[1].Code != domain.BlockedNoAccount {
		t.Fatalf("a run without an account: %+v", r)
	}
	bad := fmt.Sprintf(`{"type":"RecordBankAccount","command_id":"acct-bad","contract_id":%q,"iban":"FR76 3000 6000 0112 3456 7890 188","holder":"CPTS du Val de Loire","effective_on":"2019-11-15"}`, t2)
	if r := submit(as("agnes"), bad); r.OK || r.Error.Code != domain.CodeInvalidIBAN || r.Error.Violations[0].Field != "iban" {
		t.Fatalf("a bad check digit: %+v", r)
	}
	rec := fmt.Sprintf(`{"type":"RecordBankAccount","command_id":"acct-1","contract_id":%q,"iban":"FR76 3000 6000 0112 3456 7890 189","bic":"agrifrpp","holder":"CPTS du Val de Loire","effective_on":"2019-11-15"}`, t2)
	if r := submit(as("agnes"), rec); !r.OK {
		t.Fatalf("record: %+v", r.Error)
	}
	account := app.EventID(cpts.Stream(uuidOf(t2)), "acct-1", 0)
	confirm := func(id string) string {
		return fmt.Sprintf(`{"type":"ConfirmBankAccount","command_id":%q,"contract_id":%q,"account":%q}`, id, t2, account)
	}
	if r := submit(as("AGNES"), confirm("conf-self")); r.OK || r.Error.Code != domain.CodeSameActor {
		t.Fatalf("confirmed by who recorded it: %+v", r)
	}
	if r := submit(as("fanny"), order("run-2", "2022-04-30")); r.OK {
		t.Fatalf("ordered to an unconfirmed account: %+v", r)
	}
	if r := submit(as("carole"), confirm("conf-1")); !r.OK {
		t.Fatalf("confirmed by another: %+v", r.Error)
	}
	if r := submit(as("carole"), confirm("conf-2")); r.OK || r.Error.Code != domain.CodeAlreadyConfirmed {
		t.Fatalf("confirmed twice: %+v", r)
	}
	r = submit(as("fanny"), order("run-3", "2022-04-30"))
	if !r.OK || len(r.Events) != 9 {
		t.Fatalf("the run: %+v", r)
	}
	if r := submit(as("fanny"), order("run-4", "2022-04-30")); r.OK || r.Error.Code != domain.CodeNothingToOrder {
		t.Fatalf("a second run ordered again: %+v", r)
	}
	c, err := contractOf(ctx, store, uuidOf(t2), nil)
	if err != nil {
		t.Fatal(err)
	}
	total := domain.Zero
	for _, o := range c.Treasury.Orders {
		if o.IBAN != "FR7630006000011234567890189" || o.BIC != "AGRIFRPP" || o.AccountID != account || o.RunID != "run-3" {
			t.Fatalf("order %+v", o)
		}
		total = total.Add(o.Amount)
	}
	decided := domain.Zero
	for _, p := range c.Payments {
		decided = decided.Add(p.Amount)
	}
	if !total.Equal(decided) {
		t.Fatalf("ordered %s, decided %s", total, decided)
	}
}

func splitLines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func uuidOf(s string) uuid.UUID { return uuid.MustParse(s) }

// A statement's entries: a booking of another amount is refused
// (amount_mismatch), the booking settles the order, a second booking is
// refused; a return for a closed account (AC04) makes the payment due
// again but blocks it until another account is confirmed, and orders it
// there; a return for another reason (MS03) orders it again to the same
// account.
func TestSettlementsAndReturns(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, filepath.Join(t.TempDir(), "events.db"))
	l := app.New(store, app.Options{Actor: "fanny", ReplayHistory: true})
	other := app.New(store, app.Options{Actor: "carole", ReplayHistory: true})
	submit := func(l *app.Ledger, line string) app.Result {
		t.Helper()
		r, err := l.Submit(ctx, []byte(line))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	example, _ := os.ReadFile("../examples/t2-contract.jsonl")
	for _, line := range splitLines(example) {
		submit(l, line)
	}
	account := func(id, iban string) uuid.UUID {
		t.Helper()
		if r := submit(l, fmt.Sprintf(`{"type":"RecordBankAccount","command_id":%q,"contract_id":%q,"iban":%q,"holder":"CPTS du Val de Loire","effective_on":"2019-11-15"}`, id, t2, iban)); !r.OK {
			t.Fatalf("record: %+v", r.Error)
		}
		acct := app.EventID(cpts.Stream(uuidOf(t2)), id, 0)
		if r := submit(other, fmt.Sprintf(`{"type":"ConfirmBankAccount","command_id":"c-%s","contract_id":%q,"account":%q}`, id, t2, acct)); !r.OK {
			t.Fatalf("confirm: %+v", r.Error)
		}
		return acct
	}
	first := account("acct-1", "FR7630006000011234567890189")
	order := func(run string) app.Result {
		return submit(l, fmt.Sprintf(`{"type":"OrderPayments","command_id":%q,"contract_id":%q,"run_id":%q,"through":"2020-12-31","execution_date":"2021-01-04"}`, run, t2, run))
	}
	if r := order("run-1"); !r.OK || len(r.Events) != 6 {
		t.Fatalf("run 1: %+v", r)
	}
	c, _ := contractOf(ctx, store, uuidOf(t2), nil)
	o1, o2 := c.Treasury.Orders[0], c.Treasury.Orders[1]
	entry := func(typ, id string, o domain.Order, amount, reason string) app.Result {
		line := fmt.Sprintf(`{"type":%q,"command_id":%q,"contract_id":%q,"order":%q,"booked_on":"2021-01-04","amount":%q,"statement":"S-1"`, typ, id, t2, o.OrderID, amount)
		if reason != "" {
			line += fmt.Sprintf(`,"reason_code":%q`, reason)
		}
		return submit(l, line+"}")
	}
	if r := entry("SettlePayment", "s-bad", o1, "1.00", ""); r.OK || r.Error.Code != domain.CodeAmountMismatch {
		t.Fatalf("another amount: %+v", r)
	}
	if r := entry("SettlePayment", "s-1", o1, o1.Amount.String(), ""); !r.OK {
		t.Fatalf("settle: %+v", r.Error)
	}
	if r := entry("SettlePayment", "s-again", o1, o1.Amount.String(), ""); r.OK || r.Error.Code != domain.CodeAlreadySettled {
		t.Fatalf("settled twice: %+v", r)
	}
	if r := entry("ReturnPayment", "r-1", o2, o2.Amount.String(), "AC04"); !r.OK {
		t.Fatalf("return: %+v", r.Error)
	}
	if r := order("run-2"); r.OK || r.Error.Violations[1].Code != domain.BlockedNoAccount {
		t.Fatalf("ordered again to a closed account: %+v", r)
	}
	second := account("acct-2", "DE89370400440532013000")
	if r := order("run-3"); !r.OK || len(r.Events) != 1 {
		t.Fatalf("run 3: %+v", r)
	}
	c, _ = contractOf(ctx, store, uuidOf(t2), nil)
	again := c.Treasury.Orders[len(c.Treasury.Orders)-1]
	if again.PaymentID != o2.PaymentID || again.AccountID != second || again.AccountID == first {
		t.Fatalf("ordered again: %+v", again)
	}
	if got := c.Treasury.Execution(o1.PaymentID); got != domain.ExecutionPaid {
		t.Fatalf("the settled payment is %s", got)
	}
	if r := entry("ReturnPayment", "r-2", again, again.Amount.String(), "MS03"); !r.OK {
		t.Fatalf("return MS03: %+v", r.Error)
	}
	if r := order("run-4"); !r.OK || len(r.Events) != 1 {
		t.Fatalf("run 4: %+v", r)
	}
	c, _ = contractOf(ctx, store, uuidOf(t2), nil)
	if last := c.Treasury.Orders[len(c.Treasury.Orders)-1]; last.AccountID != second {
		t.Fatalf("after MS03 ordered to %s, want the same account", last.AccountID)
	}
}

// A command rejected on a cached state the store has moved past is
// decided again on the stream as stored: a ledger that cached the T2
// contract before another process confirmed its account orders its
// payments, and a confirmation the other process recorded is a duplicate
// here, not "already confirmed".
func TestARejectionIsJudgedOnTheStreamAsStored(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, filepath.Join(t.TempDir(), "events.db"))
	cached := app.New(store, app.Options{Actor: "fanny", ReplayHistory: true})
	other := app.New(store, app.Options{Actor: "carole", ReplayHistory: true})
	example, _ := os.ReadFile("../examples/t2-contract.jsonl")
	for _, line := range splitLines(example) {
		if r, err := cached.Submit(ctx, []byte(line)); err != nil || !r.OK {
			t.Fatal(r.Error, err)
		}
	}
	rec := fmt.Sprintf(`{"type":"RecordBankAccount","command_id":"acct","contract_id":%q,"iban":"FR7630006000011234567890189","holder":"CPTS","effective_on":"2019-11-15"}`, t2)
	if r, _ := cached.Submit(ctx, []byte(rec)); !r.OK {
		t.Fatal(r.Error)
	}
	confirm := fmt.Sprintf(`{"type":"ConfirmBankAccount","command_id":"confirm","contract_id":%q,"account":%q}`, t2, app.EventID(cpts.Stream(uuidOf(t2)), "acct", 0))
	if r, _ := other.Submit(ctx, []byte(confirm)); !r.OK {
		t.Fatal(r.Error)
	}
	// cached holds the contract as it was before the confirmation.
	if r, _ := cached.Submit(ctx, []byte(confirm)); !r.OK || !r.Duplicate {
		t.Fatalf("the other's confirmation, sent again here: %+v %+v", r, r.Error)
	}
	order := fmt.Sprintf(`{"type":"OrderPayments","command_id":"run","contract_id":%q,"run_id":"run","through":"2022-04-30","execution_date":"2022-05-02"}`, t2)
	if r, _ := cached.Submit(ctx, []byte(order)); !r.OK || len(r.Events) != 9 {
		t.Fatalf("ordered on the stream as stored: %+v %+v", r, r.Error)
	}
}
