package domain

import (
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"
)

// The treasury: from a decided payment to money ordered to a bank account.
// A beneficiary's bank accounts and the orders to pay it are facts of the
// contract's own stream, like its payments: the stream is the consistency
// boundary, so two payment runs racing cannot order one payment twice (the
// second append fails its expected revision and decides again), and a
// change of account is judged against the same history it changes.
//
// A change of bank account is the classic fraud on payment systems ("fraude
// au changement de RIB"): an account recorded by one person is paid only
// once another person has confirmed it (four eyes).

// Command and event types of the treasury: shared by every scheme.
const (
	CmdRecordBankAccount  = "RecordBankAccount"
	CmdConfirmBankAccount = "ConfirmBankAccount"
	CmdOrderPayments      = "OrderPayments"
	CmdSettlePayment      = "SettlePayment"
	CmdReturnPayment      = "ReturnPayment"

	TypeBankAccountRecorded  = "BankAccountRecorded"
	TypeBankAccountConfirmed = "BankAccountConfirmed"
	TypePaymentOrdered       = "PaymentOrdered"
	TypePaymentSettled       = "PaymentSettled"
	TypePaymentReturned      = "PaymentReturned"
)

// Execution statuses of a decided payment: decided (not ordered, or
// returned and not ordered again), ordered, paid (the bank's statement
// shows the transfer booked), returned (the beneficiary's bank sent it
// back; the next run orders it again).
const (
	ExecutionDecided  = "decided"
	ExecutionOrdered  = "ordered"
	ExecutionPaid     = "paid"
	ExecutionReturned = "returned"
)

// MaxHolderLength bounds an account holder's name: the 70 characters a SEPA
// credit transfer carries for the creditor's name (EPC implementation
// guidelines, Cdtr/Nm).
const MaxHolderLength = 70

// RecordBankAccount records the account a contract's beneficiary is paid
// to, from EffectiveOn; it is not paid before another person confirms it.
type RecordBankAccount struct {
	CommandMeta
	IBAN, BIC, Holder string
	EffectiveOn       Date
	// RecordedBy is the identity submitting the command, set by the
	// command path: never encoded, nor in its digest.
	RecordedBy string `json:"-"`
}

// ConfirmBankAccount confirms a recorded account (Account: its event id).
type ConfirmBankAccount struct {
	CommandMeta
	Account uuid.UUID
	// ConfirmedBy is the identity submitting the command, set by the
	// command path: never encoded, nor in its digest.
	ConfirmedBy string `json:"-"`
}

// OrderPayments orders, in payment run RunID, every payment of the contract
// due on or before Through (and on or after From, when set) that is not ordered yet, to be executed on
// ExecutionDate, to the account in force then.
type OrderPayments struct {
	CommandMeta
	RunID         string
	Through       Date
	ExecutionDate Date
	// From, when set, leaves out the payments due before it: the day the
	// ledger's treasury took over, those before paid by the system before.
	From Date
}

// BankEntry is what a bank statement says of an order: the entry's
// booking date, amount, the bank's reference and the statement it is in.
type BankEntry struct {
	Order         uuid.UUID
	BookedOn      Date
	Amount        Money
	BankReference string
	Statement     string
}

// SettlePayment records that the payer's bank booked an order's transfer.
type SettlePayment struct {
	CommandMeta
	BankEntry
}

// ReturnPayment records that the beneficiary's bank sent an order's
// transfer back, with the ISO 20022 return reason.
type ReturnPayment struct {
	CommandMeta
	BankEntry
	ReasonCode string
}

func (SettlePayment) CommandType() string { return CmdSettlePayment }
func (ReturnPayment) CommandType() string { return CmdReturnPayment }

func (RecordBankAccount) CommandType() string  { return CmdRecordBankAccount }
func (ConfirmBankAccount) CommandType() string { return CmdConfirmBankAccount }
func (OrderPayments) CommandType() string      { return CmdOrderPayments }

// Attributed is a command whose decision depends on who submits it: the
// command path hands it the submitting identity before deciding.
type Attributed interface {
	Command
	Attribute(actor string) Command
}

func (c RecordBankAccount) Attribute(actor string) Command  { c.RecordedBy = actor; return c }
func (c ConfirmBankAccount) Attribute(actor string) Command { c.ConfirmedBy = actor; return c }

// BankAccountRecorded: an account recorded for the contract's beneficiary.
// AccountID is the event's own id.
type BankAccountRecorded struct {
	ContractID  uuid.UUID `json:"contract_id"`
	AccountID   uuid.UUID `json:"account_id"`
	IBAN        string    `json:"iban"`
	BIC         string    `json:"bic,omitempty"`
	Holder      string    `json:"holder"`
	EffectiveOn Date      `json:"effective_on"`
	RecordedBy  string    `json:"recorded_by"`
}

// BankAccountConfirmed: another person confirmed the account.
type BankAccountConfirmed struct {
	ContractID  uuid.UUID `json:"contract_id"`
	AccountID   uuid.UUID `json:"account_id"`
	EffectiveOn Date      `json:"effective_on"`
	ConfirmedBy string    `json:"confirmed_by"`
}

// PaymentOrdered: a decided payment ordered to a confirmed account in a
// payment run. OrderID, written without dashes, is the transfer's
// end-to-end id (at most 35 characters in SEPA): the bank's statement
// names the order by it.
type PaymentOrdered struct {
	ContractID    uuid.UUID `json:"contract_id"`
	OrderID       uuid.UUID `json:"order_id"`
	RunID         string    `json:"run_id"`
	PaymentID     uuid.UUID `json:"payment_id"`
	Kind          string    `json:"kind"`
	ContractYear  int       `json:"contract_year"`
	Mission       string    `json:"mission,omitempty"`
	Rulebook      string    `json:"rulebook"`
	DueOn         Date      `json:"due_on"`
	Amount        Money     `json:"amount"`
	ExecutionDate Date      `json:"execution_date"`
	AccountID     uuid.UUID `json:"account_id"`
	IBAN          string    `json:"iban"`
	BIC           string    `json:"bic,omitempty"`
	Holder        string    `json:"holder"`
	// Offsets are the overpayments this payment repays: Amount, the
	// transfer, is the payment's amount less them (0: nothing is sent,
	// the payment is settled by the offset).
	Offsets []Offset `json:"offsets,omitempty"`
}

// Offset is the part of a payment kept back: to repay a notice's
// overpayment (OverpaymentID), or to net a decision of a negative amount
// not notified (PaymentID: a regularisation that takes back, while more is
// owed to the beneficiary).
type Offset struct {
	OverpaymentID uuid.UUID `json:"overpayment_id,omitzero"`
	PaymentID     uuid.UUID `json:"payment_id,omitzero"`
	Reference     string    `json:"reference"`
	Amount        Money     `json:"amount"`
}

// PaymentSettled: the order's transfer booked on the payer's account.
type PaymentSettled struct {
	ContractID    uuid.UUID `json:"contract_id"`
	OrderID       uuid.UUID `json:"order_id"`
	PaymentID     uuid.UUID `json:"payment_id"`
	Amount        Money     `json:"amount"`
	BookedOn      Date      `json:"booked_on"`
	BankReference string    `json:"bank_reference,omitempty"`
	Statement     string    `json:"statement"`
}

// PaymentReturned: the order's transfer came back; AccountUnusable says
// the reason is the account's (closed, wrong, blocked, its holder
// deceased): the account is not paid again.
type PaymentReturned struct {
	ContractID      uuid.UUID `json:"contract_id"`
	OrderID         uuid.UUID `json:"order_id"`
	PaymentID       uuid.UUID `json:"payment_id"`
	Amount          Money     `json:"amount"`
	BookedOn        Date      `json:"booked_on"`
	ReasonCode      string    `json:"reason_code"`
	AccountID       uuid.UUID `json:"account_id"`
	AccountUnusable bool      `json:"account_unusable"`
	BankReference   string    `json:"bank_reference,omitempty"`
	Statement       string    `json:"statement"`
}

func (PaymentSettled) EventType() string     { return TypePaymentSettled }
func (e PaymentSettled) BusinessDate() Date  { return e.BookedOn }
func (PaymentReturned) EventType() string    { return TypePaymentReturned }
func (e PaymentReturned) BusinessDate() Date { return e.BookedOn }

func (BankAccountRecorded) EventType() string      { return TypeBankAccountRecorded }
func (e BankAccountRecorded) BusinessDate() Date   { return e.EffectiveOn }
func (BankAccountConfirmed) EventType() string     { return TypeBankAccountConfirmed }
func (e BankAccountConfirmed) BusinessDate() Date  { return e.EffectiveOn }
func (PaymentOrdered) EventType() string           { return TypePaymentOrdered }
func (e PaymentOrdered) BusinessDate() Date        { return e.ExecutionDate }
func (e PaymentOrdered) EndToEndID() string        { return EndToEndID(e.OrderID) }
func (e BankAccountRecorded) Account() BankAccount { return BankAccount{BankAccountRecorded: e} }

// EndToEndID is an order id as a transfer carries it: 32 hexadecimal
// digits, within SEPA's 35 characters.
func EndToEndID(order uuid.UUID) string {
	b := make([]byte, 0, 32)
	for _, c := range order.String() {
		if c != '-' {
			b = append(b, byte(c))
		}
	}
	return string(b)
}

// TreasuryEventDecoders are the treasury's events, which every scheme
// decodes.
var TreasuryEventDecoders = EventDecoders{
	TypeBankAccountRecorded:  DecodeAs[BankAccountRecorded],
	TypeBankAccountConfirmed: DecodeAs[BankAccountConfirmed],
	TypePaymentOrdered:       DecodeAs[PaymentOrdered],
	TypePaymentSettled:       DecodeAs[PaymentSettled],
	TypePaymentReturned:      DecodeAs[PaymentReturned],
	TypeOverpaymentNotified:  DecodeAs[OverpaymentNotified],
	TypeOverpaymentContested: DecodeAs[OverpaymentContested],
	TypeContestDecided:       DecodeAs[ContestDecided],
	TypeOverpaymentRepaid:    DecodeAs[OverpaymentRepaid],
}

// WithTreasury adds the treasury's event decoders to a scheme's.
func WithTreasury(d EventDecoders) EventDecoders {
	maps.Copy(d, TreasuryEventDecoders)
	return d
}

// TreasuryEventTypes lists the treasury's event types.
func TreasuryEventTypes() []string {
	return []string{TypeBankAccountRecorded, TypeBankAccountConfirmed, TypePaymentOrdered, TypePaymentSettled, TypePaymentReturned,
		TypeOverpaymentNotified, TypeOverpaymentContested, TypeContestDecided, TypeOverpaymentRepaid}
}

// TreasuryCommands lists the treasury's command types.
func TreasuryCommands() []string {
	return []string{CmdRecordBankAccount, CmdConfirmBankAccount, CmdOrderPayments, CmdSettlePayment, CmdReturnPayment,
		CmdContestOverpayment, CmdDecideContest, CmdRecordRepayment}
}

// PayerCommands are the commands of the people who pay (a CPAM's finance
// team): payment runs, what bank statements say, the decision on a
// contest, the payer's own account. An agent records beneficiaries'
// accounts and contests; a payer does not confirm its own work.
func PayerCommands() []string {
	return []string{CmdOrderPayments, CmdSettlePayment, CmdReturnPayment, CmdRecordRepayment, CmdDecideContest, "RecordPayerAccount"}
}

// BankAccount is an account as the contract knows it.
type BankAccount struct {
	BankAccountRecorded
	Confirmed   bool
	ConfirmedBy string
	// Unusable is the return reason that makes the account one never
	// paid again, or "".
	Unusable string
}

// Order is an order and what the bank said of it.
type Order struct {
	PaymentOrdered
	Settled  *PaymentSettled
	Returned *PaymentReturned
}

// Status is the order's execution status; an order the offsets take
// whole sends nothing and is paid when recorded.
func (o Order) Status() string {
	switch {
	case o.Returned != nil:
		return ExecutionReturned
	case o.Settled != nil, o.Amount.IsZero() && len(o.Offsets) > 0:
		return ExecutionPaid
	}
	return ExecutionOrdered
}

// Treasury is what a contract's stream holds of paying it: its accounts in
// the order recorded, and every order.
type Treasury struct {
	Accounts     []BankAccount
	Orders       []Order
	Overpayments []Overpayment
	// Netted is, by decision of a negative amount, what payments ordered
	// since kept back to net it.
	Netted map[uuid.UUID]Money
}

// LastMovement is the day of the last money the treasury moved for the
// contract: an order's execution, a transfer booked or returned, a notice
// of overpayment, a repayment (zero when none).
func (t *Treasury) LastMovement() Date {
	var last Date
	for _, o := range t.Orders {
		last = MaxDate(last, o.ExecutionDate)
		if o.Settled != nil {
			last = MaxDate(last, o.Settled.BookedOn)
		}
		if o.Returned != nil {
			last = MaxDate(last, o.Returned.BookedOn)
		}
	}
	for _, o := range t.Overpayments {
		last = MaxDate(MaxDate(last, o.NoticeOn), o.RepaidOn)
	}
	return last
}

// netted is what orders kept back of a decision of a negative amount.
func (t *Treasury) netted(payment uuid.UUID) Money { return t.Netted[payment] }

// Apply folds a treasury event; ok is false for any other event.
func (t *Treasury) Apply(e Event) (ok bool, err error) {
	switch e := e.(type) {
	case BankAccountRecorded:
		t.Accounts = append(t.Accounts, e.Account())
	case BankAccountConfirmed:
		i := t.account(e.AccountID)
		if i < 0 {
			return true, fmt.Errorf("treasury: confirmation of unknown account %s", e.AccountID)
		}
		t.Accounts[i].Confirmed, t.Accounts[i].ConfirmedBy = true, e.ConfirmedBy
	case PaymentOrdered:
		t.Orders = append(t.Orders, Order{PaymentOrdered: e})
		for _, off := range e.Offsets {
			if off.PaymentID != uuid.Nil {
				if t.Netted == nil {
					t.Netted = map[uuid.UUID]Money{}
				}
				t.Netted[off.PaymentID] = t.Netted[off.PaymentID].Add(off.Amount)
				continue
			}
			i := slices.IndexFunc(t.Overpayments, func(o Overpayment) bool { return o.OverpaymentID == off.OverpaymentID })
			if i < 0 {
				return true, fmt.Errorf("treasury: offset against unknown overpayment %s", off.OverpaymentID)
			}
			t.Overpayments[i].Offset = t.Overpayments[i].Offset.Add(off.Amount)
		}
	case PaymentSettled:
		i := t.order(e.OrderID)
		if i < 0 {
			return true, fmt.Errorf("treasury: settlement of unknown order %s", e.OrderID)
		}
		t.Orders[i].Settled = &e
	case PaymentReturned:
		i := t.order(e.OrderID)
		if i < 0 {
			return true, fmt.Errorf("treasury: return of unknown order %s", e.OrderID)
		}
		t.Orders[i].Returned = &e
		if a := t.account(e.AccountID); a >= 0 && e.AccountUnusable {
			t.Accounts[a].Unusable = e.ReasonCode
		}
	default:
		return t.applyOverpayment(e)
	}
	return true, nil
}

func (t *Treasury) order(id uuid.UUID) int {
	return slices.IndexFunc(t.Orders, func(o Order) bool { return o.OrderID == id })
}

func (t *Treasury) account(id uuid.UUID) int {
	return slices.IndexFunc(t.Accounts, func(a BankAccount) bool { return a.AccountID == id })
}

// InForce returns the confirmed account paid on day d: of those confirmed
// and effective by then, the one effective last (recorded last on a tie).
func (t *Treasury) InForce(d Date) (BankAccount, bool) {
	var best BankAccount
	found := false
	for _, a := range t.Accounts {
		if a.Confirmed && a.Unusable == "" && !a.EffectiveOn.After(d) && (!found || !a.EffectiveOn.Before(best.EffectiveOn)) {
			best, found = a, true
		}
	}
	return best, found
}

// Pending returns the accounts recorded and not confirmed yet: a change
// waiting for its second person.
func (t *Treasury) Pending() []BankAccount {
	var out []BankAccount
	for _, a := range t.Accounts {
		if !a.Confirmed {
			out = append(out, a)
		}
	}
	return out
}

// Ordered tells whether a payment has an order the bank has not sent
// back: a returned payment is ordered again.
func (t *Treasury) Ordered(payment uuid.UUID) bool {
	return slices.ContainsFunc(t.Orders, func(o Order) bool { return o.PaymentID == payment && o.Returned == nil })
}

// Execution returns a payment's execution status: its last order's, or
// decided.
func (t *Treasury) Execution(payment uuid.UUID) string {
	for i := len(t.Orders) - 1; i >= 0; i-- {
		if t.Orders[i].PaymentID == payment {
			return t.Orders[i].Status()
		}
	}
	return ExecutionDecided
}
