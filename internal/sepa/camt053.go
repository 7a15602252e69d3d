package sepa

import (
	"encoding/xml"
	"fmt"

	"github.com/cptsledger/ledger/domain"
)

// Entry is one transaction of a statement's booked or pending entry, as
// the ledger reads it: which statement, the entry's place in it, debit or
// credit, the transaction's amount and end-to-end id, and a return's
// reason.
type Entry struct {
	Message   string // the statement message's id
	Statement string // the statement's id
	Account   string // the IBAN of the account the statement is of
	// Index is "entry.transaction", both counted from 1: with the
	// statement, it names the line for ever (an import repeated is the
	// same commands).
	Index         string
	Booked        bool // Sts/Cd BOOK; a pending entry is not a fact yet
	Credit        bool
	Currency      string
	Amount        domain.Money
	BookedOn      domain.Date
	BankReference string
	EndToEndID    string
	ReturnReason  string // RtrInf/Rsn/Cd, or ""
	Remittance    string // the first unstructured remittance line
}

type xStatementDoc struct {
	XMLName xml.Name `xml:"Document"`
	Msg     struct {
		ID    string       `xml:"GrpHdr>MsgId"`
		Stmts []xStatement `xml:"Stmt"`
	} `xml:"BkToCstmrStmt"`
}

type xStatement struct {
	ID      string   `xml:"Id"`
	IBAN    string   `xml:"Acct>Id>IBAN"`
	Entries []xEntry `xml:"Ntry"`
}

type xAmt struct {
	Ccy   string `xml:"Ccy,attr"`
	Value string `xml:",chardata"`
}

type xEntry struct {
	Amt       xAmt   `xml:"Amt"`
	Indicator string `xml:"CdtDbtInd"`
	Status    string `xml:"Sts>Cd"`
	BookedOn  string `xml:"BookgDt>Dt"`
	BookedAt  string `xml:"BookgDt>DtTm"`
	Reference string `xml:"AcctSvcrRef"`
	Txs       []struct {
		EndToEndID string `xml:"Refs>EndToEndId"`
		Amt        *xAmt  `xml:"Amt"`
		Return     string `xml:"RtrInf>Rsn>Cd"`
		Ustrd      string `xml:"RmtInf>Ustrd"`
	} `xml:"NtryDtls>TxDtls"`
}

// ReadCamt053 checks a statement against the camt.053.001.08 schema, then
// reads its entries; nothing is read from a document that does not pass.
// An entry without transaction details is one transaction (its own
// amount, no end-to-end id).
func ReadCamt053(doc []byte) ([]Entry, error) {
	schema, err := Camt053()
	if err != nil {
		return nil, err
	}
	if err := schema.Validate(doc); err != nil {
		return nil, fmt.Errorf("the statement does not pass the camt.053.001.08 schema: %w", err)
	}
	var d xStatementDoc
	if err := xml.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	var out []Entry
	for _, st := range d.Msg.Stmts {
		for i, n := range st.Entries {
			entries, err := readEntry(d.Msg.ID, st, i+1, n)
			if err != nil {
				return nil, fmt.Errorf("statement %s, entry %d: %w", st.ID, i+1, err)
			}
			out = append(out, entries...)
		}
	}
	return out, nil
}

func readEntry(msg string, st xStatement, i int, n xEntry) ([]Entry, error) {
	base := Entry{Message: msg, Statement: st.ID, Account: st.IBAN, Booked: n.Status == "BOOK", Credit: n.Indicator == "CRDT",
		BankReference: n.Reference}
	day := n.BookedOn
	if day == "" && len(n.BookedAt) >= 10 {
		day = n.BookedAt[:10]
	}
	if day != "" {
		d, err := domain.ParseDate(day)
		if err != nil {
			return nil, fmt.Errorf("booking date %q: %w", day, err)
		}
		base.BookedOn = d
	}
	amount := func(a xAmt) (domain.Money, string, error) {
		m, err := domain.ParseMoney(a.Value)
		if err != nil {
			return m, a.Ccy, fmt.Errorf("amount %q: %w", a.Value, err)
		}
		return m, a.Ccy, nil
	}
	var err error
	if len(n.Txs) == 0 {
		e := base
		e.Index = fmt.Sprintf("%d.1", i)
		e.Amount, e.Currency, err = amount(n.Amt)
		return []Entry{e}, err
	}
	out := make([]Entry, len(n.Txs))
	for j, tx := range n.Txs {
		e := base
		e.Index, e.EndToEndID, e.ReturnReason, e.Remittance = fmt.Sprintf("%d.%d", i, j+1), tx.EndToEndID, tx.Return, tx.Ustrd
		a := n.Amt
		if tx.Amt != nil {
			a = *tx.Amt
		} else if len(n.Txs) > 1 {
			return nil, fmt.Errorf("transaction %d of a batch entry has no amount of its own", j+1)
		}
		if e.Amount, e.Currency, err = amount(a); err != nil {
			return nil, err
		}
		out[j] = e
	}
	return out, nil
}
