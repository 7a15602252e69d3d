package payrun_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/fixture"
	"github.com/cptsledger/ledger/internal/payrun"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

var update = flag.Bool("update", false, "rewrite testdata/run.xml")

const (
	t2     = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"
	letter = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e70"
	follow = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e71"
	aid    = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e90"
)

type small struct {
	agent, second *app.Ledger
	q             *query.Ledger
	store         *embedded.Store
}

// newSmall is a small ledger: two CPAMs (the aid contract moved to the
// Cher), three beneficiaries with a confirmed account (the T2 CPTS, the
// letter of intent's, the doctor), one whose account awaits its second
// person (the contract that follows the letter), and both payers'
// accounts.
func newSmall(t *testing.T) small {
	t.Helper()
	dir := t.TempDir()
	store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	models := projections.NewSet(dir, nil)
	t.Cleanup(func() { models.Close(); store.Close() })
	s := small{agent: app.New(store, app.Options{Actor: "agnes", ReplayHistory: true}),
		second: app.New(store, app.Options{Actor: "carole", ReplayHistory: true}), q: query.New(store, models, app.DefaultSchemes()), store: store}
	var lines [][]byte
	for _, f := range []string{"t2-contract.jsonl", "letter-of-intent.jsonl", "aid-contract.jsonl"} {
		lines = append(lines, fixture.Lines(t, "../../examples/"+f)...)
	}
	for i, l := range lines {
		if bytes.Contains(l, []byte(aid)) {
			lines[i] = bytes.ReplaceAll(l, []byte("CPAM du Loiret"), []byte("CPAM du Cher"))
		}
	}
	lines = append(lines,
		[]byte(`{"type":"RecordPayerAccount","command_id":"payer-45","cpam":"CPAM du Loiret","iban":"FR76 3000 1007 9412 3456 7890 185","bic":"BDFEFRPPCCT","name":"CPAM du Loiret","effective_on":"2019-09-01"}`),
		[]byte(`{"type":"RecordPayerAccount","command_id":"payer-18","cpam":"CPAM du Cher","iban":"FR14 2004 1010 0505 0001 3M02 606","name":"CPAM du Cher","effective_on":"2019-09-01"}`))
	for _, c := range []struct{ id, iban, holder string }{
		{t2, "FR76 3000 6000 0112 3456 7890 189", "CPTS du Val de Loire"},
		{letter, "FR52 1820 6002 1065 4321 0987 618", "CPTS du Giennois"},
		{follow, "FR52 1820 6002 1065 4321 0987 618", "CPTS du Giennois"},
		{aid, "DE89 3704 0044 0532 0130 00", "Dr Élodie Lefèvre-Œuvray"},
	} {
		lines = append(lines, []byte(`{"type":"RecordBankAccount","command_id":"acct-`+c.id+`","contract_id":"`+c.id+`","iban":"`+c.iban+`","holder":"`+c.holder+`","effective_on":"2019-09-01"}`))
	}
	fixture.Submit(t, s.agent, "", lines)
	for _, id := range []string{t2, letter, aid} {
		stream := map[bool]string{true: "assistant-", false: "cpts-"}[id == aid] + id
		fixture.Submit(t, s.second, "", [][]byte{[]byte(`{"type":"ConfirmBankAccount","command_id":"confirm-` + id + `","contract_id":"` + id + `","account":"` + domain.EventID(stream, "acct-"+id, 0).String() + `"}`)})
	}
	return s
}

func (s small) run(t *testing.T, runID, out string) payrun.Report {
	t.Helper()
	spec, err := payrun.Spec(payrun.Options{RunID: runID, Through: "2022-12-31", ExecutionDate: "2023-10-02", Actor: "fanny"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := payrun.Run(context.Background(), s.agent, s.q, spec, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// A run through 2022-12-31: by hand, the T2 contract's nine payments
// (477 752.04: 60 000 + 11 250 + 15 656.76 + 5 379.10 + 104 625 +
// 35 341.18 + 112 125 + 88 375 + the 45 000 seed top-up) and the letter's
// aid (17 500) from the Loiret's account; the doctor's three (12 600 +
// 5 400 + 13 500 = 31 500; the instalments of 2023 are not due) from the
// Cher's; the contract that follows the letter blocked, its account
// awaiting a second person. The file validates against the EPC's schema,
// matches the golden file, and the same run again rewrites it byte for
// byte and records nothing; another run orders nothing.
func TestARunAndItsFile(t *testing.T) {
	s := newSmall(t)
	out := filepath.Join(t.TempDir(), "run.xml")
	rep := s.run(t, "RUN-2023-01", out)
	if rep.Orders != 13 || rep.Total.String() != "526752.04" || len(rep.Batches) != 2 ||
		rep.Batches[0].Orders+rep.Batches[1].Orders != 13 {
		t.Fatalf("report %+v", rep)
	}
	sums := map[string]string{}
	for _, b := range rep.Batches {
		sums[b.CPAM] = b.Total.String()
	}
	if sums["CPAM du Loiret"] != "495252.04" || sums["CPAM du Cher"] != "31500.00" {
		t.Fatalf("batches %+v", rep.Batches)
	}
	if len(rep.Blocked) == 0 {
		t.Fatal("nothing blocked")
	}
	for _, b := range rep.Blocked {
		if b.ContractID.String() != follow || b.Code != domain.BlockedNoAccount || !strings.Contains(b.Reason, "awaits confirmation by another person") {
			t.Errorf("blocked %+v", b)
		}
	}
	file, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, out, "pain.001.001.09.xsd")
	golden(t, file)
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Errorf("the file's mode is %v", st.Mode().Perm())
	}
	// Written again from the orders recorded (GET /api/v1/payment-runs/{run}/pain.001): the same bytes.
	if again, err := payrun.File(context.Background(), s.agent, s.q, "RUN-2023-01"); err != nil || !bytes.Equal(again, file) {
		t.Fatalf("the run's file written again differs (%v)", err)
	}
	// The same run again: nothing recorded, the same file.
	again := s.run(t, "RUN-2023-01", out)
	if again2, _ := os.ReadFile(out); !bytes.Equal(again2, file) || again.Orders != 13 {
		t.Fatalf("the same run again wrote another file (%d orders)", again.Orders)
	}
	// Another run: nothing left to order, no file.
	other := filepath.Join(t.TempDir(), "other.xml")
	if rep := s.run(t, "RUN-2023-01-B", other); rep.Orders != 0 || len(rep.Blocked) == 0 {
		t.Fatalf("a second run: %+v", rep)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Fatalf("a run that orders nothing wrote a file: %v", err)
	}
}

var createdAt = regexp.MustCompile(`<CreDtTm>[^<]*</CreDtTm>`)

// golden compares the file with testdata/run.xml, its creation time aside
// (when the run's first order was recorded).
func golden(t *testing.T, file []byte) {
	t.Helper()
	got := createdAt.ReplaceAll(file, []byte("<CreDtTm>RECORDED</CreDtTm>"))
	if *update {
		if err := os.WriteFile("testdata/run.xml", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/run.xml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the file differs from testdata/run.xml:\n%s", got)
	}
}

// validate checks a file against one of the EPC's schemas with xmllint
// (Debian's libxml2-utils), beside the validator WritePain001 runs: the
// XSD is the one in the folder LEDGER_SEPA_XSD names (.ci/run passes the EPC's),
// else the copy in ../sepa/schemas.
// Without xmllint the check is skipped, saying so; in CI
// (LEDGER_REQUIRE_XMLLINT) it fails instead.
func validate(t *testing.T, file, xsd string) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("LEDGER_REQUIRE_XMLLINT") != "" {
			t.Fatal("xmllint is required here (apt-get install libxml2-utils)")
		}
		t.Log("SKIP: no xmllint here (apt-get install libxml2-utils): the file is not validated against " + xsd)
		return
	}
	dir := "../sepa/schemas"
	if d := os.Getenv("LEDGER_SEPA_XSD"); d != "" {
		dir = d
	}
	out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join(dir, xsd), file).CombinedOutput()
	if err != nil {
		t.Fatalf("%s does not validate against %s: %v\n%s", file, xsd, err, out)
	}
	t.Logf("xmllint: %s", bytes.TrimSpace(out))
}

type transfer struct{ e2e, amount, remittance string }

var transferRE = regexp.MustCompile(`(?s)<CdtTrfTxInf>.*?<EndToEndId>([^<]+)</EndToEndId>.*?<InstdAmt Ccy="EUR">([^<]+)</InstdAmt>.*?<Ustrd>([^<]+)</Ustrd>.*?</CdtTrfTxInf>`)

// transfers reads the transfers of a payment file, by remittance text.
func transfers(t *testing.T, file []byte) map[string]transfer {
	t.Helper()
	out := map[string]transfer{}
	for _, m := range transferRE.FindAllSubmatch(file, -1) {
		out[string(m[3])] = transfer{string(m[1]), string(m[2]), string(m[3])}
	}
	return out
}

// entry is a statement entry for camt053: a debit or a credit, booked or
// pending, with its transactions.
type entry struct {
	credit, pending bool
	txs             []tx
}

type tx struct{ e2e, amount, reason string }

// camt053 writes a bank statement of the Loiret's and the Cher's account
// as a bank sends it.
func camt053(msg string, entries []entry) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>` + msg + `</MsgId><CreDtTm>2023-10-13T06:00:00Z</CreDtTm></GrpHdr>
<Stmt><Id>` + msg + `-1</Id><Acct><Id><IBAN>FR7630001007941234567890185</IBAN></Id></Acct>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2023-10-12</Dt></Dt></Bal>`)
	for i, e := range entries {
		total := domain.Zero
		for _, t := range e.txs {
			total = total.Add(domain.MustMoney(t.amount))
		}
		ind, sts, sub := "DBIT", "BOOK", "ESCT"
		if e.credit {
			ind, sub = "CRDT", "RRTN"
		}
		if e.pending {
			sts = "PDNG"
		}
		fmt.Fprintf(&b, `<Ntry><Amt Ccy="EUR">%s</Amt><CdtDbtInd>%s</CdtDbtInd><Sts><Cd>%s</Cd></Sts><BookgDt><Dt>2023-10-%02d</Dt></BookgDt>`+
			`<AcctSvcrRef>REF-%d</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>%s</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls>`,
			total, ind, sts, 5+i, i+1, sub)
		for _, t := range e.txs {
			fmt.Fprintf(&b, `<TxDtls><Refs><EndToEndId>%s</EndToEndId></Refs><Amt Ccy="EUR">%s</Amt>`, t.e2e, t.amount)
			if t.reason != "" {
				fmt.Fprintf(&b, `<RtrInf><Rsn><Cd>%s</Cd></Rsn></RtrInf>`, t.reason)
			}
			b.WriteString(`</TxDtls>`)
		}
		b.WriteString(`</NtryDtls></Ntry>`)
	}
	b.WriteString("</Stmt></BkToCstmrStmt></Document>\n")
	return []byte(b.String())
}

// A statement after the run: a batch entry booking two orders, a single
// booking, a booking of another amount (refused, never guessed), an
// unknown end-to-end id, a return for a closed account, a pending entry
// and a credit that returns nothing. Imported twice, it records nothing
// the second time; a statement that fails the schema records nothing.
// The payments show what became of them, and the returned one is ordered
// again only once another account is confirmed.
func TestAStatementMatchedBack(t *testing.T) {
	s := newSmall(t)
	out := filepath.Join(t.TempDir(), "run.xml")
	s.run(t, "RUN-2023-01", out)
	file, _ := os.ReadFile(out)
	tr := transfers(t, file)
	pick := func(prefix string) transfer {
		for r, x := range tr {
			if strings.HasPrefix(r, prefix) {
				return x
			}
		}
		t.Fatalf("no transfer %q in %v", prefix, tr)
		return transfer{}
	}
	signature := pick("ACI CPTS aci-cpts-2019 contrat " + t2 + " signature")
	letterAid := pick("ACI CPTS aci-2022 contrat " + letter + " letter of intent")
	yearPayment := pick("Aide assistant medical am-2019 contrat " + aid + " year payment")
	hiring := pick("Aide assistant medical am-2019 contrat " + aid + " hiring advance")
	balance := pick("Aide assistant medical am-2019 contrat " + aid + " year balance")
	doc := camt053("STMT-2023-10-12", []entry{
		{txs: []tx{{e2e: signature.e2e, amount: signature.amount}, {e2e: letterAid.e2e, amount: letterAid.amount}}},
		{txs: []tx{{e2e: yearPayment.e2e, amount: yearPayment.amount}}},
		{txs: []tx{{e2e: hiring.e2e, amount: "12000.00"}}},
		{txs: []tx{{e2e: "00000000000000000000000000000000", amount: "10.00"}}},
		{credit: true, txs: []tx{{e2e: balance.e2e, amount: balance.amount, reason: "AC04"}}},
		{pending: true, txs: []tx{{e2e: hiring.e2e, amount: hiring.amount}}},
		{credit: true, txs: []tx{{e2e: "REPAYMENT-1", amount: "100.00"}}},
	})
	stmt := filepath.Join(t.TempDir(), "statement.xml")
	if err := os.WriteFile(stmt, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	validate(t, stmt, "camt.053.001.08.xsd")
	ctx := context.Background()
	rep, err := payrun.Import(ctx, s.agent, s.q, stmt, "fanny")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"settled": 3, "returned": 1, "refused": 1, "unknown": 1, "pending": 1, "unrecognised": 1}
	if !maps.Equal(rep.Counts, want) {
		t.Fatalf("first import: %v, want %v\n%+v", rep.Counts, want, rep.Reported)
	}
	for _, l := range rep.Reported {
		if l.Outcome == "refused" && (l.Code != domain.CodeAmountMismatch || l.EndToEndID != hiring.e2e) {
			t.Errorf("refused: %+v", l)
		}
	}
	again, err := payrun.Import(ctx, s.agent, s.q, stmt, "fanny")
	want = map[string]int{"repeated": 4, "refused": 1, "unknown": 1, "pending": 1, "unrecognised": 1}
	if err != nil || !maps.Equal(again.Counts, want) {
		t.Fatalf("the same statement again: %v %v, want %v", again.Counts, err, want)
	}
	// A statement that fails the schema: refused whole, nothing recorded.
	broken := filepath.Join(t.TempDir(), "broken.xml")
	os.WriteFile(broken, []byte(strings.Replace(string(doc), "<BkTxCd>", "<BkTxCode>", 1)), 0o600)
	head, _ := s.store.Head(ctx)
	if _, err := payrun.Import(ctx, s.agent, s.q, broken, "fanny"); err == nil || !strings.Contains(err.Error(), "camt.053.001.08 schema") {
		t.Fatalf("a statement failing its schema: %v", err)
	}
	if after, _ := s.store.Head(ctx); after != head {
		t.Fatal("a statement that failed its schema recorded something")
	}
	// October 2023 by hand: the 13 orders executed on the 2nd
	// (526 752.04); 91 000 booked (60 000 + 17 500 + 13 500), 5 400
	// returned; the aid decided on the 1st (12 600 + 5 400 + 13 500 +
	// 5 250 + 3 150 = 39 900). Due by the 31st: T2's 477 752.04, the
	// letter's 17 500, the following contract's 60 000 and the aid's
	// 39 900 = 595 152.04 = 91 000 paid + 430 352.04 ordered + 5 400
	// returned + 68 400 not ordered (60 000 + the two 2023 instalments).
	r, err := s.q.Reconcile(ctx, "2023-10", "", domain.Date{}, query.Window{})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{r.OrderedInMonth.String(), r.PaidInMonth.String(), r.ReturnedInMonth.String(), r.DecidedInMonth.String(),
		r.Due.String(), r.Paid.String(), r.Ordered.String(), r.Returned.String(), r.NotOrdered.String(), r.Outstanding.String()}
	if w := []string{"526752.04", "91000.00", "5400.00", "39900.00", "595152.04", "91000.00", "430352.04", "5400.00", "68400.00", "504152.04"}; !slices.Equal(got, w) || !r.Balanced || len(r.Differences) != 13 {
		t.Fatalf("October 2023: %v (balanced %v, %d differences), want %v", got, r.Balanced, len(r.Differences), w)
	}
	cher, err := s.q.Reconcile(ctx, "2023-10", "CPAM du Cher", domain.Date{}, query.Window{})
	if err != nil || cher.Due.String() != "39900.00" || cher.Paid.String() != "13500.00" || cher.NotOrdered.String() != "8400.00" || !cher.Balanced {
		t.Fatalf("the Cher in October 2023: %+v %v", cher, err)
	}
	statuses := func(id string) map[string]string {
		ps, err := s.q.Payments(ctx, uuid.MustParse(id), query.Window{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, p := range ps {
			out[p.Kind] = p.ExecutionStatus
		}
		return out
	}
	if st := statuses(t2); st["signature"] != domain.ExecutionPaid || st["annual_advance"] != domain.ExecutionOrdered {
		t.Errorf("T2: %v", st)
	}
	if st := statuses(aid); st["year_payment"] != domain.ExecutionPaid || st["year_balance"] != domain.ExecutionReturned ||
		st["hiring_advance"] != domain.ExecutionOrdered || st["instalment_1"] != domain.ExecutionDecided {
		t.Errorf("the doctor: %v", st)
	}
	// Returned for a closed account: the next run blocks it until another
	// account is confirmed, then orders it there.
	rep2 := s.run(t, "RUN-2023-02", filepath.Join(t.TempDir(), "run2.xml"))
	blocked := false
	for _, b := range rep2.Blocked {
		blocked = blocked || (b.ContractID.String() == aid && b.Code == domain.BlockedNoAccount)
	}
	if rep2.Orders != 0 || !blocked {
		t.Fatalf("after the return: %+v", rep2)
	}
	fixture.Submit(t, s.agent, "", [][]byte{[]byte(`{"type":"RecordBankAccount","command_id":"acct-new","contract_id":"` + aid + `","iban":"FR7630006000011234567890189","holder":"Dr Élodie Lefèvre-Œuvray","effective_on":"2023-10-01"}`)})
	fixture.Submit(t, s.second, "", [][]byte{[]byte(`{"type":"ConfirmBankAccount","command_id":"confirm-new","contract_id":"` + aid + `","account":"` + domain.EventID("assistant-"+aid, "acct-new", 0).String() + `"}`)})
	if rep3 := s.run(t, "RUN-2023-03", filepath.Join(t.TempDir(), "run3.xml")); rep3.Orders != 1 || rep3.Total.String() != balance.amount {
		t.Fatalf("ordered again: %+v", rep3)
	}
}

// A run from the day the ledger took over the payments leaves out what
// fell due before (paid by the system before): by hand, from 2022-01-01
// through 2022-12-31, T2's seed top-up (45 000), the letter's aid
// (17 500) and the doctor's two payments of March 2022 (5 400 + 13 500):
// 81 400; the reconciliation from the same day counts only those due since.
func TestARunFromACutover(t *testing.T) {
	s := newSmall(t)
	spec, err := payrun.Spec(payrun.Options{RunID: "CUT-1", From: "2022-01-01", Through: "2022-12-31", ExecutionDate: "2023-10-02", Actor: "fanny"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := payrun.Run(context.Background(), s.agent, s.q, spec, "", nil)
	if err != nil || rep.Orders != 4 || rep.Total.String() != "81400.00" || rep.From == nil {
		t.Fatalf("%+v %v", rep, err)
	}
	r, err := s.q.Reconcile(context.Background(), "2023-10", "", domain.MustDate("2022-01-01"), query.Window{})
	if err != nil || r.Due.String() != "149800.00" || r.Ordered.String() != "81400.00" || r.NotOrdered.String() != "68400.00" || !r.Balanced {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := payrun.Spec(payrun.Options{From: "2023-01-01", Through: "2022-12-31", ExecutionDate: "2023-10-02"}); err == nil {
		t.Fatal("a run from after its through date")
	}
}
