package sepa

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"time"

	"github.com/cptsledger/ledger/domain"
)

// A bank's side, for the demo and the tests: the transfers a payment file
// orders, read back as a bank reads them, and the statement a bank sends
// of an account (camt.053.001.08), written and checked against its schema.

// Ordered is one transfer of a payment file.
type Ordered struct {
	EndToEndID string
	Amount     domain.Money
	Creditor   string
	Remittance string
}

// ReadPain001 checks a payment file against its schema, then returns its
// transfers in file order.
func ReadPain001(doc []byte) ([]Ordered, error) {
	schema, err := Pain001()
	if err != nil {
		return nil, err
	}
	if err := schema.Validate(doc); err != nil {
		return nil, fmt.Errorf("the payment file does not pass the pain.001.001.09 schema: %w", err)
	}
	var d xDocument
	if err := xml.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	var out []Ordered
	for _, p := range d.Init.PmtInf {
		for _, t := range p.Txs {
			m, err := domain.ParseMoney(t.Amount.Value)
			if err != nil {
				return nil, err
			}
			o := Ordered{EndToEndID: t.EndToEndID, Amount: m, Creditor: t.Creditor}
			if t.RmtInf != nil {
				o.Remittance = t.RmtInf.Ustrd
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// Booking is one line of a statement: a debit of the account (a transfer
// it made), or a credit (a transfer returned, with its reason, or a
// repayment quoting a notice).
type Booking struct {
	Credit       bool
	Pending      bool
	Amount       domain.Money
	BookedOn     domain.Date
	Reference    string // the bank's own
	EndToEndID   string
	ReturnReason string
	Remittance   string
}

// Statement is a statement of one account.
type Statement struct {
	MessageID, ID, IBAN string
	Created             time.Time
	Closing             domain.Money
	Bookings            []Booking
}

// WriteCamt053 writes the statement as a bank sends it, checked against
// the camt.053.001.08 schema before a byte is written.
func WriteCamt053(w io.Writer, s Statement) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>%s</MsgId><CreDtTm>%s</CreDtTm></GrpHdr>
<Stmt><Id>%s</Id><Acct><Id><IBAN>%s</IBAN></Id></Acct>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">%s</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>%s</Dt></Dt></Bal>
`, esc(s.MessageID), s.Created.UTC().Format("2006-01-02T15:04:05Z"), esc(s.ID), esc(s.IBAN), s.Closing, s.Created.UTC().Format(time.DateOnly))
	for _, k := range s.Bookings {
		ind, sts, fam, sub := "DBIT", "BOOK", "ICDT", "ESCT"
		if k.Credit {
			ind, fam, sub = "CRDT", "RCDT", "ESCT"
			if k.ReturnReason != "" {
				fam, sub = "ICDT", "RRTN"
			}
		}
		if k.Pending {
			sts = "PDNG"
		}
		fmt.Fprintf(&b, `<Ntry><Amt Ccy="EUR">%s</Amt><CdtDbtInd>%s</CdtDbtInd><Sts><Cd>%s</Cd></Sts><BookgDt><Dt>%s</Dt></BookgDt>`+
			`<AcctSvcrRef>%s</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>%s</Cd><SubFmlyCd>%s</SubFmlyCd></Fmly></Domn></BkTxCd>`+
			`<NtryDtls><TxDtls>`, k.Amount, ind, sts, k.BookedOn, esc(k.Reference), fam, sub)
		if k.EndToEndID != "" {
			fmt.Fprintf(&b, `<Refs><EndToEndId>%s</EndToEndId></Refs>`, esc(k.EndToEndID))
		}
		fmt.Fprintf(&b, `<Amt Ccy="EUR">%s</Amt>`, k.Amount)
		if k.Remittance != "" {
			fmt.Fprintf(&b, `<RmtInf><Ustrd>%s</Ustrd></RmtInf>`, esc(Text(k.Remittance, 140)))
		}
		if k.ReturnReason != "" {
			fmt.Fprintf(&b, `<RtrInf><Rsn><Cd>%s</Cd></Rsn></RtrInf>`, esc(k.ReturnReason))
		}
		b.WriteString("</TxDtls></NtryDtls></Ntry>\n")
	}
	b.WriteString("</Stmt></BkToCstmrStmt></Document>\n")
	schema, err := Camt053()
	if err != nil {
		return err
	}
	if err := schema.Validate(b.Bytes()); err != nil {
		return fmt.Errorf("sepa: the statement would not pass the camt.053.001.08 schema: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
