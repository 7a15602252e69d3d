package app

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
)

// RunSpec is a payment run: every payment due by Through, executed on
// ExecutionDate, of one CPAM's contracts or all (CPAM empty).
type RunSpec struct {
	RunID         string
	Through       domain.Date
	ExecutionDate domain.Date
	// From, when set, leaves out the payments due before it (the day the
	// ledger's treasury took over).
	From domain.Date
	CPAM string
	// Actor runs it: each contract's OrderPayments is recorded as theirs.
	Actor string
	// Ordered, if set, is told of each contract's orders once durable.
	Ordered func(contract uuid.UUID, orders int)
}

// RunOrder is an order of the run, with the account it is paid from.
type RunOrder struct {
	domain.PaymentOrdered
	Scheme string
	CPAM   string
	Payer  domain.PayerAccount
	// RecordedAt is when the ledger recorded the order.
	RecordedAt time.Time
}

// RunBlocked is a payment due that the run did not order, and why.
type RunBlocked struct {
	ContractID uuid.UUID
	Scheme     string
	CPAM       string
	domain.Blocked
}

// RunResult is what a run ordered (this run's orders, including those an
// interrupted attempt of it recorded) and what it could not.
type RunResult struct {
	Orders  []RunOrder
	Blocked []RunBlocked
	// Notices are the overpayment notices the run sent.
	Notices []domain.OverpaymentNotified
}

// Why a payment is not ordered, besides the domain's reasons: the CPAM
// that pays it has no account recorded (RecordPayerAccount).
const BlockedNoPayerAccount = "no_payer_account"

// PaymentRun orders, contract by contract, every payment of the contracts
// named that is due by the run's date and not ordered yet: one
// OrderPayments command each, through the command path (idempotent by its
// id, which the run id and the contract make: running the same run again
// after a crash records nothing twice and finds the orders recorded). It
// returns the run's orders and the payments blocked, with their reason.
func (l *Ledger) PaymentRun(ctx context.Context, spec RunSpec, contracts []uuid.UUID) (RunResult, error) {
	var res RunResult
	payers, err := l.payerAccounts(ctx)
	if err != nil {
		return res, err
	}
	for _, id := range contracts {
		if err := l.runContract(ctx, spec, id, payers, &res); err != nil {
			return res, fmt.Errorf("payment run %s, contract %s: %w", spec.RunID, id, err)
		}
	}
	return res, nil
}

func (l *Ledger) runContract(ctx context.Context, spec RunSpec, id uuid.UUID, payers domain.PayerAccounts, res *RunResult) error {
	p, _, err := l.payee(ctx, id)
	if err != nil || (spec.CPAM != "" && !domain.SameCPAM(p.CPAM, spec.CPAM)) {
		return err
	}
	due, blocked, _ := p.Plan(spec.From, spec.Through, spec.ExecutionDate)
	notice := p.HasUnnotified(spec.From, spec.ExecutionDate)
	hasPayer := false
	if payers != nil {
		_, hasPayer = payers.PayerAccount(p.CPAM, spec.ExecutionDate)
	}
	block := func(b domain.Blocked) {
		res.Blocked = append(res.Blocked, RunBlocked{ContractID: id, Scheme: p.Scheme, CPAM: p.CPAM, Blocked: b})
	}
	for _, b := range blocked {
		block(b)
	}
	if len(due) > 0 && !hasPayer {
		for _, pay := range due {
			block(domain.Blocked{Payment: pay, Code: BlockedNoPayerAccount, Reason: fmt.Sprintf("%s has no account to pay from on %s (RecordPayerAccount)", p.CPAM, spec.ExecutionDate)})
		}
		due = nil
	}
	if len(due) > 0 || notice {
		from := ""
		if !spec.From.IsZero() {
			from = fmt.Sprintf(`,"from":%q`, spec.From)
		}
		line := fmt.Appendf(nil, `{"type":%q,"command_id":%q,"contract_id":%q,"run_id":%q,"through":%q,"execution_date":%q%s}`,
			domain.CmdOrderPayments, "pay/"+spec.RunID+"/"+id.String(), id, spec.RunID, spec.Through, spec.ExecutionDate, from)
		r, err := l.SubmitAs(ctx, spec.Actor, line)
		if err != nil {
			return err
		}
		if r.OK && spec.Ordered != nil {
			spec.Ordered(id, len(r.Events))
		}
		if !r.OK && r.Error.Code != domain.CodeNothingToOrder {
			for _, pay := range due {
				block(domain.Blocked{Payment: pay, Code: r.Error.Code, Reason: r.Error.Message})
			}
		}
	}
	return l.collect(ctx, id, spec.RunID, payers, res)
}

// collect adds a contract's orders and notices of a run to res, each order
// with the payer's account in force on its execution date.
func (l *Ledger) collect(ctx context.Context, id uuid.UUID, runID string, payers domain.PayerAccounts, res *RunResult) error {
	p, recorded, err := l.payee(ctx, id)
	if err != nil {
		return err
	}
	for _, o := range p.Treasury.OrdersOf(runID) {
		payer := domain.PayerAccount{}
		if payers != nil {
			payer, _ = payers.PayerAccount(p.CPAM, o.ExecutionDate)
		}
		res.Orders = append(res.Orders, RunOrder{PaymentOrdered: o, Scheme: p.Scheme, CPAM: p.CPAM, Payer: payer, RecordedAt: recorded[o.OrderID]})
	}
	for _, o := range p.Treasury.Overpayments {
		if o.RunID == runID {
			res.Notices = append(res.Notices, o.OverpaymentNotified)
		}
	}
	return nil
}

// CollectRun returns what a run recorded, for the contracts named, and
// orders nothing: what its file is written from again.
func (l *Ledger) CollectRun(ctx context.Context, runID string, contracts []uuid.UUID) (RunResult, error) {
	var res RunResult
	payers, err := l.payerAccounts(ctx)
	if err != nil {
		return res, err
	}
	for _, id := range contracts {
		if err := l.collect(ctx, id, runID, payers, &res); err != nil {
			return res, fmt.Errorf("payment run %s, contract %s: %w", runID, id, err)
		}
	}
	return res, nil
}

// payee folds a contract's stream afresh (not the command path's cached
// state, which a command may be changing) and returns it as the treasury
// reads it, with when each order was recorded.
func (l *Ledger) payee(ctx context.Context, id uuid.UUID) (domain.Payee, map[uuid.UUID]time.Time, error) {
	scheme, err := l.streamScheme(ctx, id, "")
	if err != nil {
		return domain.Payee{}, nil, err
	}
	if scheme == nil {
		return domain.Payee{}, nil, domain.Reject(domain.CodeContractNotFound, "contract_id", fmt.Sprintf("no contract %s has been signed", id))
	}
	st, recorded := scheme.NewState(id), map[uuid.UUID]time.Time{}
	if err := ReadStream(ctx, l.store, scheme, domain.Stream(scheme.Name(), id), func(env eventstore.Envelope, e domain.Event) error {
		if o, ok := e.(domain.PaymentOrdered); ok {
			recorded[o.OrderID] = env.RecordedAt
		}
		return st.Apply(e)
	}); err != nil {
		return domain.Payee{}, nil, err
	}
	p, ok := st.(domain.Payable)
	if !ok {
		return domain.Payee{}, nil, fmt.Errorf("the %s scheme's contracts cannot be paid", scheme.Name())
	}
	return p.Payee(), recorded, nil
}

// payerAccounts returns the payers' accounts as they stand, from the
// scheme whose reference facts hold them (nil: none does).
func (l *Ledger) payerAccounts(ctx context.Context) (domain.PayerAccounts, error) {
	for _, s := range l.opts.Schemes {
		rf, ok := s.(domain.ReferenceFacts)
		if !ok {
			continue
		}
		ref, err := l.referenceOf(ctx, rf)
		if err != nil {
			return nil, err
		}
		if pa, ok := ref.(domain.PayerAccounts); ok {
			return pa, nil
		}
	}
	return nil, nil
}
