// Package sepa writes the payment files a bank takes and reads the
// statements it sends back, in the EPC's ISO 20022 formats: a customer
// credit transfer initiation (pain.001.001.09, the EPC SEPA Credit Transfer
// implementation guidelines 2023) and a bank-to-customer statement
// (camt.053.001.08). It formats and parses; which payment is ordered, and
// what a statement's entry means for it, are the domain's rules.
package sepa

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/cptsledger/ledger/domain"
)

// Party is an account and its holder.
type Party struct {
	Name string
	IBAN string
	BIC  string // optional
}

// Transfer is one credit transfer.
type Transfer struct {
	EndToEndID string
	Amount     domain.Money
	Creditor   Party
	Remittance string // unstructured, at most 140 characters
}

// Batch is the transfers of one debtor account executed on one day (one
// PmtInf).
type Batch struct {
	ID            string
	ExecutionDate domain.Date
	Debtor        Party
	Transfers     []Transfer
}

// Initiation is one pain.001 message.
type Initiation struct {
	MessageID string
	Created   time.Time
	Initiator string
	Batches   []Batch
}

const pain001NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"

type xDocument struct {
	XMLName xml.Name `xml:"Document"`
	NS      string   `xml:"xmlns,attr"`
	Init    xInit    `xml:"CstmrCdtTrfInitn"`
}

type xInit struct {
	GrpHdr xGroupHeader `xml:"GrpHdr"`
	PmtInf []xPmtInf    `xml:"PmtInf"`
}

type xGroupHeader struct {
	MsgID   string `xml:"MsgId"`
	CreDtTm string `xml:"CreDtTm"`
	NbOfTxs int    `xml:"NbOfTxs"`
	CtrlSum string `xml:"CtrlSum"`
	InitgNm string `xml:"InitgPty>Nm"`
}

type xPmtInf struct {
	ID       string    `xml:"PmtInfId"`
	Method   string    `xml:"PmtMtd"`
	NbOfTxs  int       `xml:"NbOfTxs"`
	CtrlSum  string    `xml:"CtrlSum"`
	SvcLvl   string    `xml:"PmtTpInf>SvcLvl>Cd"`
	ExecDate string    `xml:"ReqdExctnDt>Dt"`
	Debtor   string    `xml:"Dbtr>Nm"`
	DbtrIBAN string    `xml:"DbtrAcct>Id>IBAN"`
	DbtrAgt  xAgent    `xml:"DbtrAgt"`
	ChrgBr   string    `xml:"ChrgBr"`
	Txs      []xCdtTrf `xml:"CdtTrfTxInf"`
}

// xAgent is a financial institution: its BIC, or NOTPROVIDED as the EPC
// guidelines ask when the debtor gives none.
type xAgent struct {
	FinInstnID struct {
		BIC  string  `xml:"BICFI,omitempty"`
		Othr *xOther `xml:"Othr,omitempty"`
	} `xml:"FinInstnId"`
}

type xOther struct {
	ID string `xml:"Id"`
}

type xCdtTrf struct {
	EndToEndID string   `xml:"PmtId>EndToEndId"`
	Amount     xAmount  `xml:"Amt>InstdAmt"`
	CdtrAgt    *xCdtAgt `xml:"CdtrAgt,omitempty"`
	Creditor   string   `xml:"Cdtr>Nm"`
	CdtrIBAN   string   `xml:"CdtrAcct>Id>IBAN"`
	RmtInf     *xRmtInf `xml:"RmtInf,omitempty"`
}

type xRmtInf struct {
	Ustrd string `xml:"Ustrd"`
}

type xCdtAgt struct {
	BIC string `xml:"FinInstnId>BICFI"`
}

type xAmount struct {
	Ccy   string `xml:"Ccy,attr"`
	Value string `xml:",chardata"`
}

// WritePain001 writes the initiation as a pain.001.001.09 document: one
// PmtInf per batch, counts and control sums computed here, every text in
// the SEPA character set and within its length, the whole checked against
// the EPC's schema before a byte is written. An empty batch, an amount
// that is not positive or a name that reads as nothing is an error: a
// file the bank would reject is never written.
func WritePain001(w io.Writer, in Initiation) error {
	doc := xDocument{NS: pain001NS}
	doc.Init.GrpHdr = xGroupHeader{MsgID: Text(in.MessageID, 35), CreDtTm: in.Created.UTC().Format("2006-01-02T15:04:05Z"), InitgNm: Text(in.Initiator, 70)}
	total, count := domain.Zero, 0
	for _, b := range in.Batches {
		p, sum, err := pmtInf(b)
		if err != nil {
			return err
		}
		doc.Init.PmtInf = append(doc.Init.PmtInf, p)
		total, count = total.Add(sum), count+len(b.Transfers)
	}
	if count == 0 {
		return fmt.Errorf("sepa: a payment file holds at least one transfer")
	}
	doc.Init.GrpHdr.NbOfTxs, doc.Init.GrpHdr.CtrlSum = count, total.String()
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	b.WriteByte('\n')
	schema, err := Pain001()
	if err != nil {
		return err
	}
	if err := schema.Validate(b.Bytes()); err != nil {
		return fmt.Errorf("sepa: the payment file would not pass the EPC's schema: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

func pmtInf(b Batch) (xPmtInf, domain.Money, error) {
	p := xPmtInf{ID: Text(b.ID, 35), Method: "TRF", SvcLvl: "SEPA", ExecDate: b.ExecutionDate.String(),
		Debtor: Text(b.Debtor.Name, 70), DbtrIBAN: b.Debtor.IBAN, ChrgBr: "SLEV", NbOfTxs: len(b.Transfers)}
	p.DbtrAgt.FinInstnID.BIC = b.Debtor.BIC
	if b.Debtor.BIC == "" {
		p.DbtrAgt.FinInstnID.Othr = &xOther{ID: "NOTPROVIDED"}
	}
	if len(b.Transfers) == 0 || p.Debtor == "" || p.ID == "" {
		return p, domain.Zero, fmt.Errorf("sepa: batch %q: a batch needs an id, a debtor's name and at least one transfer", b.ID)
	}
	sum := domain.Zero
	for _, t := range b.Transfers {
		if t.Amount.Sign() <= 0 {
			return p, sum, fmt.Errorf("sepa: transfer %s: the amount %s is not positive", t.EndToEndID, t.Amount)
		}
		tx := xCdtTrf{EndToEndID: Text(t.EndToEndID, 35), Amount: xAmount{Ccy: "EUR", Value: t.Amount.String()},
			Creditor: Text(t.Creditor.Name, 70), CdtrIBAN: t.Creditor.IBAN}
		if r := Text(t.Remittance, 140); r != "" {
			tx.RmtInf = &xRmtInf{Ustrd: r}
		}
		if t.Creditor.BIC != "" {
			tx.CdtrAgt = &xCdtAgt{BIC: t.Creditor.BIC}
		}
		if tx.Creditor == "" || tx.EndToEndID == "" {
			return p, sum, fmt.Errorf("sepa: transfer %s: a transfer needs an end-to-end id and a creditor's name", t.EndToEndID)
		}
		p.Txs = append(p.Txs, tx)
		sum = sum.Add(t.Amount)
	}
	p.CtrlSum = sum.String()
	return p, sum, nil
}

// Text is s in the SEPA character set (the EPC's basic Latin: letters
// a–z and A–Z, digits, space and / - ? : ( ) . , ' +), within max
// characters: accents dropped ("Étang" → "Etang"), ligatures spelled out,
// anything else a space, spaces collapsed.
func Text(s string, max int) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(" /-?:().,'+", r)):
			b.WriteRune(r)
		case r == 'œ' || r == 'Œ' || r == 'æ' || r == 'Æ':
			b.WriteString(map[rune]string{'œ': "oe", 'Œ': "OE", 'æ': "ae", 'Æ': "AE"}[r])
		case r == 'ß':
			b.WriteString("ss")
		case r == '’' || r == '‘':
			b.WriteRune('\'')
		default:
			b.WriteRune(' ')
		}
	}
	out := strings.Join(strings.Fields(b.String()), " ")
	if len(out) > max {
		out = strings.TrimRight(out[:max], " ")
	}
	return out
}
