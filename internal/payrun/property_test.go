package payrun_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/payrun"
	"github.com/cptsledger/ledger/query"
)

// The treasury's invariant, as a property of generated histories: after
// every step of a random sequence of payment runs and bank statements
// (bookings and returns of random orders, for the account's reasons or
// not) and account changes, for every beneficiary, the positive amounts
// decided = paid + ordered and not booked + not ordered yet + blocked,
// the domain's fold and the read model agree on each payment's status,
// and no payment has two orders the bank has not returned. The seed is
// logged; LEDGER_PROPERTY_SEED replays one.
func TestTreasuryInvariant(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LEDGER_PROPERTY_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (LEDGER_PROPERTY_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x7e))
	s := newSmall(t)
	ctx := context.Background()
	day := domain.MustDate("2023-10-02")
	for step := range 12 {
		switch rng.IntN(3) {
		case 0, 1:
			through := day.AddDays(rng.IntN(400) - 200)
			spec, _ := payrun.Spec(payrun.Options{RunID: fmt.Sprintf("P%d", step), Through: through.String(), ExecutionDate: day.String(), Actor: "fanny"})
			if _, err := payrun.Run(ctx, s.agent, s.q, spec, filepath.Join(t.TempDir(), "run.xml"), nil); err != nil {
				t.Fatalf("step %d: run: %v", step, err)
			}
		case 2:
			s.randomStatement(t, rng, step, day)
		}
		day = day.AddDays(rng.IntN(20))
		s.checkInvariant(t, step)
	}
	orders, settled, returned := 0, 0, 0
	for _, id := range []string{t2, letter, follow, aid} {
		for _, o := range s.payee(t, id).Treasury.Orders {
			orders++
			if o.Settled != nil {
				settled++
			}
			if o.Returned != nil {
				returned++
			}
		}
	}
	t.Logf("%d orders, %d booked, %d returned", orders, settled, returned)
	if orders == 0 {
		t.Fatal("no order in the whole history: the property was not exercised")
	}
}

// randomStatement books or returns a random half of the orders not yet
// booked, and gives a contract whose account came back closed a new one.
func (s small) randomStatement(t *testing.T, rng *rand.Rand, step int, day domain.Date) {
	t.Helper()
	var entries []entry
	for _, id := range []string{t2, letter, follow, aid} {
		p := s.payee(t, id)
		for _, o := range p.Treasury.Orders {
			if o.Settled != nil || o.Returned != nil || rng.IntN(2) == 0 {
				continue
			}
			switch r := rng.IntN(4); r {
			case 0:
				entries = append(entries, entry{credit: true, txs: []tx{{e2e: domain.EndToEndID(o.OrderID), amount: o.Amount.String(), reason: []string{"AC04", "MS03"}[rng.IntN(2)]}}})
			default:
				entries = append(entries, entry{txs: []tx{{e2e: domain.EndToEndID(o.OrderID), amount: o.Amount.String()}}})
			}
		}
		if _, ok := p.Treasury.InForce(day); !ok && len(p.Treasury.Pending()) == 0 && id != follow {
			n := fmt.Sprintf("acct-%d-%s", step, id[len(id)-2:])
			stream := map[bool]string{true: "assistant-", false: "cpts-"}[id == aid] + id
			s.submit(t, s.agent, `{"type":"RecordBankAccount","command_id":"`+n+`","contract_id":"`+id+`","iban":"FR7630006000011234567890189","holder":"Beneficiary","effective_on":"2019-09-01"}`)
			s.submit(t, s.second, `{"type":"ConfirmBankAccount","command_id":"c-`+n+`","contract_id":"`+id+`","account":"`+domain.EventID(stream, n, 0).String()+`"}`)
		}
	}
	if len(entries) == 0 {
		return
	}
	file := filepath.Join(t.TempDir(), "statement.xml")
	if err := os.WriteFile(file, camt053(fmt.Sprintf("S%d", step), entries), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := payrun.Import(context.Background(), s.agent, s.q, file, "fanny")
	if err != nil || rep.Counts["settled"]+rep.Counts["returned"] != len(entries) {
		t.Fatalf("step %d: import %+v %v", step, rep, err)
	}
}

func (s small) submit(t *testing.T, l *app.Ledger, line string) {
	t.Helper()
	if r, err := l.Submit(context.Background(), []byte(line)); err != nil || !r.OK {
		t.Fatalf("%s: %+v %v", line, r.Error, err)
	}
}

// payee folds a contract's stream with its scheme's decoder.
func (s small) payee(t *testing.T, id string) domain.Payee {
	t.Helper()
	for _, scheme := range app.DefaultSchemes() {
		st := scheme.NewState(uuid.MustParse(id))
		n := 0
		err := app.ReadStream(context.Background(), s.store, scheme, domain.Stream(scheme.Name(), uuid.MustParse(id)), func(_ eventstore.Envelope, e domain.Event) error {
			n++
			return st.Apply(e)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return st.(domain.Payable).Payee()
		}
	}
	t.Fatalf("no stream for %s", id)
	return domain.Payee{}
}

// checkInvariant checks every beneficiary after a step.
func (s small) checkInvariant(t *testing.T, step int) {
	t.Helper()
	far := domain.MustDate("2099-12-31")
	for _, id := range []string{t2, letter, follow, aid} {
		p := s.payee(t, id)
		decided, paid, ordered := domain.Zero, domain.Zero, domain.Zero
		live := map[uuid.UUID]int{}
		for _, o := range p.Treasury.Orders {
			if o.Returned == nil {
				live[o.PaymentID]++
			}
		}
		for _, pay := range p.Payments {
			if pay.Amount.Sign() <= 0 {
				continue
			}
			decided = decided.Add(pay.Amount)
			switch p.Treasury.Execution(pay.PaymentID) {
			case domain.ExecutionPaid:
				paid = paid.Add(pay.Amount)
			case domain.ExecutionOrdered:
				ordered = ordered.Add(pay.Amount)
			}
			if live[pay.PaymentID] > 1 {
				t.Fatalf("step %d: payment %s has %d orders not returned", step, pay.PaymentID, live[pay.PaymentID])
			}
		}
		due, blocked, _ := p.Plan(domain.Date{}, far, far)
		rest := domain.Zero
		for _, d := range due {
			rest = rest.Add(d.Amount)
		}
		for _, b := range blocked {
			rest = rest.Add(b.Payment.Amount)
		}
		if !decided.Equal(paid.Add(ordered).Add(rest)) {
			t.Fatalf("step %d, %s: decided %s ≠ paid %s + ordered %s + not ordered or blocked %s", step, id, decided, paid, ordered, rest)
		}
		ps, err := s.q.Payments(context.Background(), uuid.MustParse(id), query.Window{})
		if err != nil {
			t.Fatal(err)
		}
		for _, qp := range ps {
			if want := p.Treasury.Execution(qp.PaymentID); qp.ExecutionStatus != want {
				t.Fatalf("step %d: payment %s is %s in the read model, %s in its stream", step, qp.PaymentID, qp.ExecutionStatus, want)
			}
		}
	}
}
