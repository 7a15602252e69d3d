package domain

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/google/uuid"
)

// eventNamespace derives event ids: UUIDv5(namespace, stream/command/index).
var eventNamespace = uuid.MustParse("3b0e6f7c-1d2a-5e4b-8c9d-0a1b2c3d4e5f")

// EventID returns the id of the i-th event produced by a command on a
// stream. Including the stream makes ids unique across streams even when
// two contracts receive the same command id. A recorded bank account is
// named by its event's id, which the decision computes here.
func EventID(stream, commandID string, i int) uuid.UUID {
	return uuid.NewSHA1(eventNamespace, fmt.Appendf(nil, "%s/%s/%d", stream, commandID, i))
}

// orderNamespace derives order ids from the run and the payment: the same
// run ordering the same payment is the same order, whoever computes it.
var orderNamespace = uuid.MustParse("8f3a1c52-6b7d-5e90-a1b2-c3d4e5f60718")

// Why a payment due is not ordered.
const (
	BlockedNoAccount  = "no_confirmed_account"
	BlockedTerminated = "contract_terminated"
	BlockedWithheld   = "withheld"
	// BlockedPrescribed: a decision of a negative amount older than
	// recovery_prescription_years: no notice is sent for it.
	BlockedPrescribed = "prescribed"
)

// Blocked is a payment due that a run does not order, and why.
type Blocked struct {
	Payment PaymentDecided
	Code    string
	Reason  string
}

// Payee is a contract's state as the treasury reads it.
type Payee struct {
	ContractID   uuid.UUID
	Scheme       string
	Stream       string
	CPAM         string
	Signed       bool
	TerminatedOn Date
	Payments     []PaymentDecided
	Treasury     *Treasury
	// PrescriptionYears is the rulebook's recovery_prescription_years: a
	// decision of a negative amount older than that on a run's execution
	// date is not notified (the action to recover it has lapsed).
	PrescriptionYears int
}

// Payable is a contract's state that the treasury can pay: every scheme's.
type Payable interface {
	State
	Payee() Payee
}

// OrdersOf returns the orders of a payment run.
func (t *Treasury) OrdersOf(run string) []PaymentOrdered {
	var out []PaymentOrdered
	for _, o := range t.Orders {
		if o.RunID == run {
			out = append(out, o.PaymentOrdered)
		}
	}
	return out
}

// Plan returns what a run from the day from (zero: from the start)
// through the day through, executed on exec,
// would order — every decided payment of a positive amount due by then and
// not ordered yet, to the account in force on exec — and what it could
// not, with the reason. Negative amounts (a recovery, a regularisation
// that takes back) are not orders: they are owed to the fund.
func (p Payee) Plan(from, through, exec Date) (due []PaymentDecided, blocked []Blocked, account BankAccount) {
	account, hasAccount := p.Treasury.InForce(exec)
	for _, pay := range p.Payments {
		if !from.IsZero() && pay.DueOn.Before(from) {
			continue
		}
		if p.prescribed(pay, exec) {
			blocked = append(blocked, Blocked{pay, BlockedPrescribed, fmt.Sprintf("decided on %s, more than %d years before %s: the recovery has lapsed (recovery_prescription_years, CSS art. L.133-4)", pay.DecidedOn, p.PrescriptionYears, exec)})
			continue
		}
		// Not a transfer: an amount to take back, one not due by then, one
		// ordered already, or one decided after the execution date (a
		// history replayed out of order).
		if pay.Amount.Sign() <= 0 || pay.DueOn.After(through) || p.Treasury.Ordered(pay.PaymentID) || pay.DecidedOn.After(exec) {
			continue
		}
		switch {
		case pay.Status != StatusDecided:
			blocked = append(blocked, Blocked{pay, BlockedWithheld, fmt.Sprintf("the payment is %s: %s", pay.Status, pay.Reason)})
		case !p.TerminatedOn.IsZero():
			blocked = append(blocked, Blocked{pay, BlockedTerminated, fmt.Sprintf("the contract was terminated on %s: its payments are ordered by hand, after review", p.TerminatedOn)})
		case !hasAccount:
			blocked = append(blocked, Blocked{pay, BlockedNoAccount, p.noAccountReason(exec)})
		default:
			due = append(due, pay)
		}
	}
	return due, blocked, account
}

func (p Payee) noAccountReason(exec Date) string {
	if pending := p.Treasury.Pending(); len(pending) > 0 {
		a := pending[len(pending)-1]
		return fmt.Sprintf("no confirmed bank account in force on %s; %s, recorded by %s, awaits confirmation by another person", exec, MaskIBAN(a.IBAN), a.RecordedBy)
	}
	return fmt.Sprintf("no confirmed bank account in force on %s (RecordBankAccount, then ConfirmBankAccount by another person)", exec)
}

// DecideTreasury decides a treasury command on a contract; handled is
// false for any other command.
func DecideTreasury(p Payee, cmd Command) (events []Event, handled bool, err error) {
	switch cmd := cmd.(type) {
	case RecordBankAccount:
		events, err = p.record(cmd)
	case ConfirmBankAccount:
		events, err = p.confirm(cmd)
	case OrderPayments:
		events, err = p.order(cmd)
	case SettlePayment:
		events, err = p.settle(cmd)
	case ReturnPayment:
		events, err = p.returned(cmd)
	case ContestOverpayment:
		events, err = p.contest(cmd)
	case DecideContest:
		events, err = p.decideContest(cmd)
	case RecordRepayment:
		events, err = p.repay(cmd)
	default:
		return nil, false, nil
	}
	return events, true, err
}

func (p Payee) record(cmd RecordBankAccount) ([]Event, error) {
	if err := CheckTarget(p.ContractID, p.Signed, cmd, false); err != nil {
		return nil, err
	}
	// A terminated contract may still be owed (or owe) money: its account
	// is recorded; its payments are ordered by hand (Plan).
	return []Event{BankAccountRecorded{ContractID: p.ContractID, AccountID: EventID(p.Stream, cmd.CommandID, 0),
		IBAN: cmd.IBAN, BIC: cmd.BIC, Holder: cmd.Holder, EffectiveOn: cmd.EffectiveOn, RecordedBy: cmd.RecordedBy}}, nil
}

func (p Payee) confirm(cmd ConfirmBankAccount) ([]Event, error) {
	if err := CheckTarget(p.ContractID, p.Signed, cmd, false); err != nil {
		return nil, err
	}
	i := p.Treasury.account(cmd.Account)
	if i < 0 {
		return nil, Reject(CodeUnknownAccount, "account", fmt.Sprintf("no bank account %s is recorded on this contract (the event id of its BankAccountRecorded)", cmd.Account))
	}
	a := p.Treasury.Accounts[i]
	if a.Confirmed {
		return nil, Reject(CodeAlreadyConfirmed, "account", fmt.Sprintf("the account %s was confirmed by %s", MaskIBAN(a.IBAN), a.ConfirmedBy))
	}
	if cmd.ConfirmedBy == "" || strings.EqualFold(cmd.ConfirmedBy, a.RecordedBy) {
		return nil, Reject(CodeSameActor, "account", fmt.Sprintf("%s recorded this account: another person must confirm it (four eyes)", a.RecordedBy))
	}
	return []Event{BankAccountConfirmed{ContractID: p.ContractID, AccountID: a.AccountID, EffectiveOn: a.EffectiveOn, ConfirmedBy: cmd.ConfirmedBy}}, nil
}

func (p Payee) order(cmd OrderPayments) ([]Event, error) {
	if err := CheckTarget(p.ContractID, p.Signed, cmd, false); err != nil {
		return nil, err
	}
	due, blocked, account := p.Plan(cmd.From, cmd.Through, cmd.ExecutionDate)
	// What the payments ordered keep back: first what notices leave owed
	// (their two months past, or their contest decided), oldest first; then
	// the decisions of a negative amount not notified, netted against the
	// payments of the same run, oldest first (a regularisation that takes
	// back, while more is owed to the beneficiary, is a smaller payment).
	keep := append(p.owed(cmd.ExecutionDate), p.unnotified(cmd.From, cmd.ExecutionDate)...)
	var orders []Event
	for _, pay := range due {
		o := PaymentOrdered{ContractID: p.ContractID, OrderID: uuid.NewSHA1(orderNamespace, []byte(cmd.RunID+"/"+pay.PaymentID.String())),
			RunID: cmd.RunID, PaymentID: pay.PaymentID, Kind: pay.Kind, ContractYear: pay.ContractYear, Mission: pay.Mission,
			Rulebook: pay.Rulebook, DueOn: pay.DueOn, Amount: pay.Amount, ExecutionDate: cmd.ExecutionDate,
			AccountID: account.AccountID, IBAN: account.IBAN, BIC: account.BIC, Holder: account.Holder}
		for i := range keep {
			take := keep[i].Amount
			if take.Cmp(o.Amount) > 0 {
				take = o.Amount
			}
			if take.Sign() > 0 {
				off := keep[i]
				off.Amount = take
				o.Offsets = append(o.Offsets, off)
				o.Amount, keep[i].Amount = o.Amount.Sub(take), keep[i].Amount.Sub(take)
			}
		}
		orders = append(orders, o)
	}
	// What the run's payments could not absorb: the contract's net due is
	// negative, and a notice is sent for it (the run's first event).
	var events []Event
	if n, ok := p.notice(cmd, keep); ok {
		events = append(events, n)
	}
	events = append(events, orders...)
	if len(events) == 0 {
		vs := Violations{{Code: CodeNothingToOrder, Field: "through", Rule: fmt.Sprintf("nothing of the contract due by %s is left to order", cmd.Through)}}
		for _, b := range blocked {
			vs.Add(b.Code, "", fmt.Sprintf("%s of year %d (%s): %s", b.Payment.Kind, b.Payment.ContractYear, b.Payment.Amount, b.Reason))
		}
		return nil, vs.Err()
	}
	return events, nil
}

// prescribed tells whether a decision of a negative amount, not notified,
// is older than the recovery's prescription on day d.
func (p Payee) prescribed(pay PaymentDecided, d Date) bool {
	return pay.Amount.Sign() < 0 && p.PrescriptionYears > 0 && !p.Treasury.notified(pay.PaymentID) &&
		pay.DecidedOn.AddYears(p.PrescriptionYears).Before(d)
}

// unnotified returns, oldest first, what each decision of a negative
// amount decided by day d (and due from the day from, when set: what fell
// due before was the system's before), in no notice and not prescribed,
// leaves to take back after the offsets of earlier orders, as an Offset
// to fill.
func (p Payee) unnotified(from, d Date) []Offset {
	var out []Offset
	for _, pay := range p.Payments {
		if pay.Amount.Sign() >= 0 || pay.DecidedOn.After(d) || p.Treasury.notified(pay.PaymentID) || p.prescribed(pay, d) ||
			(!from.IsZero() && pay.DueOn.Before(from)) {
			continue
		}
		if left := pay.Amount.Neg().Sub(p.Treasury.netted(pay.PaymentID)); left.Sign() > 0 {
			out = append(out, Offset{PaymentID: pay.PaymentID, Reference: fmt.Sprintf("%s annee %d", pay.Kind, pay.ContractYear), Amount: left})
		}
	}
	return out
}

// HasUnnotified tells whether a run from the day from, executed on exec,
// has a decision of a negative amount to net or to notify.
func (p Payee) HasUnnotified(from, exec Date) bool { return len(p.unnotified(from, exec)) > 0 }

// notice is the notice a run sends for what the decisions of a negative
// amount leave to take back once netted against its payments (left: the
// Offsets of unnotified, as the run's orders left them), dated on its
// execution date, its deadline two months later.
func (p Payee) notice(cmd OrderPayments, left []Offset) (OverpaymentNotified, bool) {
	n := OverpaymentNotified{ContractID: p.ContractID, NoticeOn: cmd.ExecutionDate, Deadline: cmd.ExecutionDate.AddMonths(NoticeMonths), RunID: cmd.RunID}
	var causes []string
	for _, off := range left {
		if off.PaymentID == uuid.Nil || off.Amount.Sign() <= 0 {
			continue
		}
		pay := p.payment(off.PaymentID)
		n.Amount = n.Amount.Add(off.Amount)
		n.Payments = append(n.Payments, pay.PaymentID)
		cause := fmt.Sprintf("%s of year %d, %s decided on %s", pay.Kind, pay.ContractYear, pay.Amount, pay.DecidedOn)
		if !off.Amount.Equal(pay.Amount.Neg()) {
			cause += fmt.Sprintf(" (%s of it still owed after what later payments kept)", off.Amount)
		}
		if pay.Reason != "" {
			cause += ": " + pay.Reason
		}
		causes = append(causes, cause)
	}
	if len(n.Payments) == 0 {
		return n, false
	}
	// The notice is the run's first event on the stream: its id is the
	// overpayment's, what a contest or a decision names.
	n.OverpaymentID = EventID(p.Stream, cmd.CommandID, 0)
	n.Reference, n.Cause = NoticeReference(n.OverpaymentID), strings.Join(causes, "; ")
	return n, true
}

// payment returns the contract's decision of that id.
func (p Payee) payment(id uuid.UUID) PaymentDecided {
	for _, pay := range p.Payments {
		if pay.PaymentID == id {
			return pay
		}
	}
	return PaymentDecided{PaymentID: id}
}

// owed returns, oldest first, what each overpayment owed on day d (its
// two months past, or its contest decided) still leaves to take back, as
// an Offset to fill.
func (p Payee) owed(d Date) []Offset {
	var out []Offset
	for _, o := range p.Treasury.Overpayments {
		if o.State(d) == StateOffsetting {
			out = append(out, Offset{OverpaymentID: o.OverpaymentID, Reference: o.Reference, Amount: o.Remaining()})
		}
	}
	return out
}

// overpayment finds an overpayment of the contract.
func (p Payee) overpayment(cmd Command, id uuid.UUID) (Overpayment, error) {
	if err := CheckTarget(p.ContractID, p.Signed, cmd, false); err != nil {
		return Overpayment{}, err
	}
	for _, o := range p.Treasury.Overpayments {
		if o.OverpaymentID == id {
			return o, nil
		}
	}
	return Overpayment{}, Reject(CodeUnknownOverpayment, "overpayment", fmt.Sprintf("no overpayment %s of this contract (the overpayment_id of its OverpaymentNotified)", id))
}

func (p Payee) contest(cmd ContestOverpayment) ([]Event, error) {
	o, err := p.overpayment(cmd, cmd.Overpayment)
	if err != nil {
		return nil, err
	}
	if cmd.ContestedOn.IsZero() {
		return nil, Reject(CodeMissingField, "contested_on", "is required when a history is replayed (else the day the ledger records it)")
	}
	switch st := o.State(cmd.ContestedOn); {
	case o.Contest != nil:
		return nil, Reject(CodeAlreadyContested, "overpayment", fmt.Sprintf("the notice %s was contested on %s", o.Reference, o.Contest.ContestedOn))
	case st != StateNotified:
		return nil, Reject(CodeContestLate, "contested_on", fmt.Sprintf("the notice %s of %s could be contested until %s (two months); it is %s", o.Reference, o.NoticeOn, o.Deadline, st))
	}
	return []Event{OverpaymentContested{ContractID: p.ContractID, OverpaymentID: o.OverpaymentID, ContestedOn: cmd.ContestedOn, Reason: cmd.Reason}}, nil
}

func (p Payee) decideContest(cmd DecideContest) ([]Event, error) {
	o, err := p.overpayment(cmd, cmd.Overpayment)
	if err != nil {
		return nil, err
	}
	if cmd.DecidedOn.IsZero() {
		return nil, Reject(CodeMissingField, "decided_on", "is required when a history is replayed (else the day the ledger records it)")
	}
	switch {
	case o.Contest == nil:
		return nil, Reject(CodeNotContested, "overpayment", fmt.Sprintf("the notice %s was not contested", o.Reference))
	case o.Decision != nil:
		return nil, Reject(CodeAlreadyDecided, "overpayment", fmt.Sprintf("the contest of %s was decided on %s (%s)", o.Reference, o.Decision.DecidedOn, o.Decision.Outcome))
	case cmd.DecidedOn.Before(o.Contest.ContestedOn):
		return nil, Reject(CodeInvalidValue, "decided_on", fmt.Sprintf("%s is before the contest, on %s", cmd.DecidedOn, o.Contest.ContestedOn))
	}
	e := ContestDecided{ContractID: p.ContractID, OverpaymentID: o.OverpaymentID, Outcome: cmd.Outcome, DecidedOn: cmd.DecidedOn, Reason: cmd.Reason}
	switch cmd.Outcome {
	case OutcomeUpheld:
		e.Amount = o.Amount
	case OutcomeReduced:
		if cmd.Amount.Sign() <= 0 || cmd.Amount.Cmp(o.Amount) >= 0 {
			return nil, Reject(CodeInvalidValue, "amount", fmt.Sprintf("a reduced overpayment is more than 0 and less than the %s notified", o.Amount))
		}
		e.Amount = cmd.Amount
	}
	return []Event{e}, nil
}

func (p Payee) repay(cmd RecordRepayment) ([]Event, error) {
	o, err := p.overpayment(cmd, cmd.Overpayment)
	if err != nil {
		return nil, err
	}
	if left := o.Remaining(); o.State(cmd.BookedOn) == StateCancelled || cmd.Amount.Cmp(left) > 0 {
		return nil, Reject(CodeAmountMismatch, "amount", fmt.Sprintf("the repayment of %s is more than the %s the notice %s leaves owed", cmd.Amount, left, o.Reference))
	}
	return []Event{OverpaymentRepaid{ContractID: p.ContractID, OverpaymentID: o.OverpaymentID, Amount: cmd.Amount, BookedOn: cmd.BookedOn,
		BankReference: cmd.BankReference, Statement: cmd.Statement}}, nil
}

// decodeTreasury decodes the treasury's commands; ok is false for any
// other type.
func (d *CommandDecoder) decodeTreasury() (cmd Command, ok bool, err error) {
	f := d.Fields()
	switch d.Header.Type {
	case CmdRecordBankAccount:
		var w struct {
			WireHeader
			IBAN        string `json:"iban"`
			BIC         string `json:"bic"`
			Holder      string `json:"holder"`
			EffectiveOn string `json:"effective_on"`
		}
		if err := d.Decode(&w); err != nil {
			return nil, true, err
		}
		c := RecordBankAccount{CommandMeta: d.Meta(w.WireHeader), Holder: w.Holder, EffectiveOn: f.Date("effective_on", w.EffectiveOn)}
		c.IBAN, c.BIC = f.IBAN("iban", w.IBAN), f.BIC("bic", w.BIC)
		f.Holder("holder", w.Holder)
		cmd, err = d.Result(c)
	case CmdConfirmBankAccount:
		var w struct {
			WireHeader
			Account string `json:"account"`
		}
		if err := d.Decode(&w); err != nil {
			return nil, true, err
		}
		cmd, err = d.Result(ConfirmBankAccount{CommandMeta: d.Meta(w.WireHeader), Account: f.UUID("account", w.Account)})
	case CmdSettlePayment, CmdReturnPayment:
		cmd, err = d.decodeBankEntry(d.Header.Type == CmdReturnPayment)
	case CmdContestOverpayment, CmdDecideContest, CmdRecordRepayment:
		cmd, err = d.decodeOverpayment()
	case CmdOrderPayments:
		var w struct {
			WireHeader
			RunID         string `json:"run_id"`
			Through       string `json:"through"`
			ExecutionDate string `json:"execution_date"`
			From          string `json:"from"`
		}
		if err := d.Decode(&w); err != nil {
			return nil, true, err
		}
		if f.Required("run_id", w.RunID) {
			f.checkText("run_id", w.RunID, MaxRunIDLength, textName)
		}
		c := OrderPayments{CommandMeta: d.Meta(w.WireHeader), RunID: w.RunID, Through: f.Date("through", w.Through), ExecutionDate: f.Date("execution_date", w.ExecutionDate)}
		if w.From != "" {
			c.From = f.Date("from", w.From)
		}
		cmd, err = d.Result(c)
	default:
		return nil, false, nil
	}
	return cmd, true, err
}

// MaxRunIDLength bounds a payment run's id: it is the file's message id,
// 35 characters in SEPA (MsgId).
const MaxRunIDLength = 35

// IBAN checks a required IBAN and returns its electronic form.
func (f Fields) IBAN(field, s string) string {
	if !f.Required(field, s) {
		return ""
	}
	iban, err := ParseIBAN(s)
	if err != nil {
		f.V.Add(CodeInvalidIBAN, field, err.Error())
	}
	return iban
}

// BIC checks an optional BIC and returns it in upper case.
func (f Fields) BIC(field, s string) string {
	if s == "" {
		return ""
	}
	bic, err := ParseBIC(s)
	if err != nil {
		f.V.Add(CodeInvalidBIC, field, err.Error())
	}
	return bic
}

// Holder checks an account holder's name: required, one line, at most
// MaxHolderLength characters.
func (f Fields) Holder(field, s string) {
	if f.Required(field, s) {
		f.checkText(field, s, MaxHolderLength, textName)
	}
}

// PayerAccount is the account a CPAM pays from.
type PayerAccount struct {
	CPAM, IBAN, BIC, Name string
}

// PayerAccounts is a scheme's reference facts that hold the payers'
// accounts: the one a CPAM pays from on a day.
type PayerAccounts interface {
	PayerAccount(cpam string, d Date) (PayerAccount, bool)
}

// SameCPAM tells two spellings of one CPAM apart from two CPAMs: Unicode
// NFC, runs of spaces one space, case folded.
func SameCPAM(a, b string) bool {
	key := func(s string) string {
		return strings.ToLower(strings.Join(strings.Fields(norm.NFC.String(s)), " "))
	}
	return a == b || key(a) == key(b)
}

// Stamped is a command that takes the day the ledger records it where the
// line gives no date of its own (a payer's account: effective from then).
type Stamped interface {
	Command
	Stamp(day Date) Command
}

// unusableReasons are the ISO 20022 return reasons that are the account's:
// incorrect account number (AC01), closed (AC04), blocked (AC06),
// transaction forbidden on it (AG01), holder deceased (MD07), bank
// identifier incorrect (RC01). A payment returned for one of them is
// ordered again only to another confirmed account.
var unusableReasons = []string{"AC01", "AC04", "AC06", "AG01", "MD07", "RC01"}

// bankEntryOrder finds the order a statement's entry names and checks its
// amount.
func (p Payee) bankEntryOrder(cmd Command, e BankEntry) (Order, error) {
	if err := CheckTarget(p.ContractID, p.Signed, cmd, false); err != nil {
		return Order{}, err
	}
	i := p.Treasury.order(e.Order)
	if i < 0 {
		return Order{}, Reject(CodeUnknownOrder, "order", fmt.Sprintf("no order %s of this contract", e.Order))
	}
	o := p.Treasury.Orders[i]
	if !e.Amount.Equal(o.Amount) {
		return o, Reject(CodeAmountMismatch, "amount", fmt.Sprintf("the bank booked %s for the order %s of %s", e.Amount, EndToEndID(o.OrderID), o.Amount))
	}
	if o.Returned != nil {
		return o, Reject(CodeOrderReturned, "order", fmt.Sprintf("the order %s was returned on %s (%s)", EndToEndID(o.OrderID), o.Returned.BookedOn, o.Returned.ReasonCode))
	}
	return o, nil
}

func (p Payee) settle(cmd SettlePayment) ([]Event, error) {
	o, err := p.bankEntryOrder(cmd, cmd.BankEntry)
	if err != nil {
		return nil, err
	}
	if o.Settled != nil {
		return nil, Reject(CodeAlreadySettled, "order", fmt.Sprintf("the order %s was booked on %s (statement %s)", EndToEndID(o.OrderID), o.Settled.BookedOn, o.Settled.Statement))
	}
	return []Event{PaymentSettled{ContractID: p.ContractID, OrderID: o.OrderID, PaymentID: o.PaymentID, Amount: cmd.Amount,
		BookedOn: cmd.BookedOn, BankReference: cmd.BankReference, Statement: cmd.Statement}}, nil
}

func (p Payee) returned(cmd ReturnPayment) ([]Event, error) {
	o, err := p.bankEntryOrder(cmd, cmd.BankEntry)
	if err != nil {
		return nil, err
	}
	return []Event{PaymentReturned{ContractID: p.ContractID, OrderID: o.OrderID, PaymentID: o.PaymentID, Amount: cmd.Amount,
		BookedOn: cmd.BookedOn, ReasonCode: cmd.ReasonCode, AccountID: o.AccountID, AccountUnusable: slices.Contains(unusableReasons, cmd.ReasonCode),
		BankReference: cmd.BankReference, Statement: cmd.Statement}}, nil
}

// decodeBankEntry decodes what SettlePayment and ReturnPayment share.
func (d *CommandDecoder) decodeBankEntry(reason bool) (Command, error) {
	var w struct {
		WireHeader
		Order         string         `json:"order"`
		BookedOn      string         `json:"booked_on"`
		Amount        NumberOrString `json:"amount"`
		BankReference string         `json:"bank_reference"`
		Statement     string         `json:"statement"`
		ReasonCode    string         `json:"reason_code"`
	}
	if err := d.Decode(&w); err != nil {
		return nil, err
	}
	f := d.Fields()
	e := BankEntry{Order: f.UUID("order", w.Order), BookedOn: f.Date("booked_on", w.BookedOn), BankReference: w.BankReference, Statement: w.Statement}
	e.Amount = f.Amount("amount", w.Amount.Number())
	f.OptionalName("bank_reference", w.BankReference)
	f.Name("statement", w.Statement)
	if !reason {
		if w.ReasonCode != "" {
			f.V.Add(CodeUnknownField, "reason_code", "a settlement has no return reason")
		}
		return d.Result(SettlePayment{CommandMeta: d.Meta(w.WireHeader), BankEntry: e})
	}
	if f.Required("reason_code", w.ReasonCode) && !returnReason.MatchString(w.ReasonCode) {
		f.V.Add(CodeInvalidValue, "reason_code", "an ISO 20022 return reason code: four letters and digits (AC04, MS03)")
	}
	return d.Result(ReturnPayment{CommandMeta: d.Meta(w.WireHeader), BankEntry: e, ReasonCode: w.ReasonCode})
}

var returnReason = regexp.MustCompile(`^[A-Z0-9]{4}$`)

// Amount checks a required positive amount in euros with at most two
// decimal places.
func (f Fields) Amount(field string, n json.Number) Money {
	d, ok := f.Decimal(field, n)
	if !ok {
		return Zero
	}
	if d.Sign() <= 0 || !d.Equal(d.Round(2)) {
		f.V.Add(CodeInvalidNumber, field, "must be a positive amount in euros with at most two decimal places, got "+quote(string(n)))
		return Zero
	}
	m, err := ParseMoney(d.StringFixed(2))
	if err != nil {
		f.V.Add(CodeInvalidNumber, field, err.Error())
	}
	return m
}

// decodeOverpayment decodes the commands about a notice.
func (d *CommandDecoder) decodeOverpayment() (Command, error) {
	var w struct {
		WireHeader
		Overpayment   string         `json:"overpayment"`
		ContestedOn   string         `json:"contested_on"`
		DecidedOn     string         `json:"decided_on"`
		Outcome       string         `json:"outcome"`
		Amount        NumberOrString `json:"amount"`
		Reason        string         `json:"reason"`
		BookedOn      string         `json:"booked_on"`
		BankReference string         `json:"bank_reference"`
		Statement     string         `json:"statement"`
	}
	if err := d.Decode(&w); err != nil {
		return nil, err
	}
	f := d.Fields()
	meta, id := d.Meta(w.WireHeader), f.UUID("overpayment", w.Overpayment)
	unexpected := func(field, value string) {
		if value != "" {
			f.V.Add(CodeUnknownField, field, "is not a field of "+d.Header.Type)
		}
	}
	switch d.Header.Type {
	case CmdContestOverpayment:
		f.Reason("reason", w.Reason)
		for k, v := range map[string]string{"decided_on": w.DecidedOn, "outcome": w.Outcome, "amount": string(w.Amount), "booked_on": w.BookedOn, "statement": w.Statement} {
			unexpected(k, v)
		}
		return d.Result(ContestOverpayment{CommandMeta: meta, Overpayment: id, ContestedOn: optionalDate(f, "contested_on", w.ContestedOn), Reason: w.Reason})
	case CmdDecideContest:
		f.Reason("reason", w.Reason)
		c := DecideContest{CommandMeta: meta, Overpayment: id, Outcome: w.Outcome, DecidedOn: optionalDate(f, "decided_on", w.DecidedOn), Reason: w.Reason}
		if f.Required("outcome", w.Outcome) && !slices.Contains([]string{OutcomeUpheld, OutcomeReduced, OutcomeCancelled}, w.Outcome) {
			f.V.Add(CodeInvalidValue, "outcome", "upheld, reduced or cancelled")
		}
		if w.Outcome == OutcomeReduced {
			c.Amount = f.Amount("amount", w.Amount.Number())
		} else {
			unexpected("amount", string(w.Amount))
		}
		return d.Result(c)
	}
	e := BankEntry{BookedOn: f.Date("booked_on", w.BookedOn), BankReference: w.BankReference, Statement: w.Statement}
	e.Amount = f.Amount("amount", w.Amount.Number())
	f.OptionalName("bank_reference", w.BankReference)
	f.Name("statement", w.Statement)
	return d.Result(RecordRepayment{CommandMeta: meta, Overpayment: id, BankEntry: e})
}

// optionalDate reads a date a command may leave out (zero then: the command
// path stamps the recording day, Stamped).
func optionalDate(f Fields, field, s string) Date {
	if s == "" {
		return Date{}
	}
	return f.Date(field, s)
}
