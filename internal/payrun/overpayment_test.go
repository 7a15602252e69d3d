package payrun_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/fixture"
	"github.com/cptsledger/ledger/internal/payrun"
	"github.com/cptsledger/ledger/query"
)

// An overpayment from notice to offset: T2's year-2 report corrected down
// after its balance was paid gives a negative regularisation; the next
// run notifies it (two months to pay or contest), the beneficiary
// contests it in time (a contest after the two months is refused), the
// commission upholds it, a statement shows a partial repayment quoting
// the notice, and the next run keeps the rest from the payment it
// orders, in the order and in the file's remittance text.
func TestAnOverpaymentFromNoticeToOffset(t *testing.T) {
	s := newSmall(t)
	ctx := context.Background()
	run := func(id, through, exec string) payrun.Report {
		t.Helper()
		spec, err := payrun.Spec(payrun.Options{RunID: id, Through: through, ExecutionDate: exec, Actor: "fanny"})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := payrun.Run(ctx, s.agent, s.q, spec, filepath.Join(t.TempDir(), id+".xml"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	run("P1", "2022-12-31", "2023-10-02")
	report2 := domain.EventID("cpts-"+t2, "t2-report-2", 0)
	fixture.Submit(t, s.agent, "", [][]byte{
		[]byte(`{"type":"CorrectReport","command_id":"fix-2","contract_id":"` + t2 + `","corrects":"` + report2.String() + `","corrected_on":"2023-10-05","reason":"the 24-hour access rate was 40 %, not 80 %","values":[{"mission":"access","code":"mt-found","value":"100"},{"mission":"access","code":"snp-24h","value":"40"},{"mission":"pathways","code":"pathways-run","value":"2.4"},{"mission":"prevention","code":"actions","value":"6"}]}`),
		[]byte(`{"type":"DecideDuePayments","command_id":"fix-2-decide","contract_id":"` + t2 + `","as_of":"2023-10-05"}`),
	})
	// Nothing else is due to T2 by mid-2022 (all ordered by P1): the net
	// due is negative, and the run notifies it.
	p2 := run("P2", "2022-06-30", "2023-10-09")
	if len(p2.Notices) != 1 || p2.Notices[0].Deadline != domain.MustDate("2023-12-09") {
		t.Fatalf("the notice: %+v", p2.Notices)
	}
	n := p2.Notices[0]
	list, err := s.q.Overpayments(ctx, uuid.MustParse(t2), query.Window{AsOf: domain.MustDate("2023-10-10")})
	if err != nil || len(list) != 1 || list[0].State != domain.StateNotified || !list[0].Amount.Equal(n.Amount) {
		t.Fatalf("notified: %+v %v", list, err)
	}
	id := list[0].OverpaymentID.String()
	contest := func(cid, on string) (bool, string) {
		r, err := s.agent.Submit(ctx, []byte(`{"type":"ContestOverpayment","command_id":"`+cid+`","contract_id":"`+t2+`","overpayment":"`+id+`","contested_on":"`+on+`","reason":"the rate was measured on the wrong month"}`))
		if err != nil {
			t.Fatal(err)
		}
		if r.Error != nil {
			return r.OK, r.Error.Code
		}
		return r.OK, ""
	}
	if ok, code := contest("late", "2023-12-10"); ok || code != domain.CodeContestLate {
		t.Fatalf("a contest after the two months: %v %s", ok, code)
	}
	if ok, code := contest("contest", "2023-11-02"); !ok {
		t.Fatalf("a contest in time: %s", code)
	}
	decide := func(cid, outcome, amount string) (bool, string) {
		line := `{"type":"DecideContest","command_id":"` + cid + `","contract_id":"` + t2 + `","overpayment":"` + id + `","outcome":"` + outcome + `","decided_on":"2023-11-20","reason":"the commission's decision"`
		if amount != "" {
			line += `,"amount":"` + amount + `"`
		}
		r, err := s.second.Submit(ctx, []byte(line+"}"))
		if err != nil {
			t.Fatal(err)
		}
		if r.Error != nil {
			return r.OK, r.Error.Code
		}
		return r.OK, ""
	}
	if ok, code := decide("too-much", domain.OutcomeReduced, n.Amount.String()); ok || code != domain.CodeInvalidValue {
		t.Fatalf("reduced to the whole amount: %v %s", ok, code)
	}
	if ok, code := decide("upheld", domain.OutcomeUpheld, ""); !ok {
		t.Fatalf("upheld: %s", code)
	}
	// A repayment of 1 000 € quoting the notice.
	doc := camt053("STMT-REPAY", nil)
	doc = bytes.Replace(doc, []byte("</Stmt>"), []byte(`<Ntry><Amt Ccy="EUR">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2023-11-25</Dt></BookgDt><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Amt Ccy="EUR">1000.00</Amt><RmtInf><Ustrd>Remboursement `+n.Reference+`</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry></Stmt>`), 1)
	stmt := filepath.Join(t.TempDir(), "repay.xml")
	os.WriteFile(stmt, doc, 0o600)
	validate(t, stmt, "camt.053.001.08.xsd")
	// A credit quoting two notices is not guessed: reported, nothing recorded.
	twice := bytes.Replace(doc, []byte("Remboursement "+n.Reference), []byte("Remboursement "+n.Reference+" et INDU-000000000000"), 1)
	stmt2 := filepath.Join(t.TempDir(), "twice.xml")
	os.WriteFile(stmt2, bytes.Replace(twice, []byte("STMT-REPAY"), []byte("STMT-TWICE"), -1), 0o600)
	if imp, err := payrun.Import(ctx, s.agent, s.q, stmt2, "fanny"); err != nil || imp.Counts["unrecognised"] != 1 || imp.Counts["repaid"] != 0 {
		t.Fatalf("a credit quoting two notices: %+v %v", imp, err)
	}
	imp, err := payrun.Import(ctx, s.agent, s.q, stmt, "fanny")
	if err != nil || imp.Counts["repaid"] != 1 {
		t.Fatalf("the repayment: %+v %v", imp, err)
	}
	// The next run: T2's year-4 and year-5 advances (2 × 112 125) less
	// what remains owed, beside the aid's two 2023 instalments (5 250 +
	// 3 150).
	fixture.Submit(t, s.agent, "", [][]byte{[]byte(`{"type":"DecideDuePayments","command_id":"decide-2023-12","contract_id":"` + t2 + `","as_of":"2023-12-01"}`)})
	out := filepath.Join(t.TempDir(), "P4.xml")
	spec, _ := payrun.Spec(payrun.Options{RunID: "P4", Through: "2023-12-31", ExecutionDate: "2023-12-04", Actor: "fanny"})
	p4, err := payrun.Run(ctx, s.agent, s.q, spec, out, nil)
	left := n.Amount.Sub(domain.MustMoney("1000.00"))
	if err != nil || p4.Total.String() != domain.MustMoney("232650.00").Sub(left).String() {
		t.Fatalf("the run after the decision sent %s (%v), want 2 × 112125.00 + 8400.00 less %s", p4.Total, err, left)
	}
	file, _ := os.ReadFile(out)
	if !bytes.Contains(file, []byte("retenue "+n.Reference+" "+left.String())) {
		t.Fatalf("the file does not say what was kept:\n%s", file)
	}
	list, _ = s.q.Overpayments(ctx, uuid.MustParse(t2), query.Window{AsOf: domain.MustDate("2023-12-05")})
	if o := list[0]; o.State != domain.StateSettled || !o.Offset.Equal(left) || !o.Repaid.Equal(domain.MustMoney("1000.00")) || !o.Remaining.IsZero() {
		t.Fatalf("after the offset: %+v", o)
	}
	var letter strings.Builder
	payrun.WriteNotice(&letter, list[0])
	for _, want := range []string{"Notification de payer un indu", n.Reference, "09/12/2023", "Commission de recours amiable", "regularisation of year 2"} {
		if !strings.Contains(letter.String(), want) {
			t.Errorf("the letter lacks %q:\n%s", want, letter.String())
		}
	}
}

// A regularisation that takes back while more is owed to the beneficiary
// is not an overpayment: the same run nets it against the payment it
// orders (an offset naming the decision, in the order and the remittance)
// and sends no notice.
func TestANegativeDecisionNettedInTheSameRun(t *testing.T) {
	s := newSmall(t)
	ctx := context.Background()
	spec, _ := payrun.Spec(payrun.Options{RunID: "N1", Through: "2022-06-30", ExecutionDate: "2023-10-02", Actor: "fanny"})
	if _, err := payrun.Run(ctx, s.agent, s.q, spec, "", nil); err != nil {
		t.Fatal(err)
	}
	report2 := domain.EventID("cpts-"+t2, "t2-report-2", 0)
	fixture.Submit(t, s.agent, "", [][]byte{
		[]byte(`{"type":"CorrectReport","command_id":"fix-2","contract_id":"` + t2 + `","corrects":"` + report2.String() + `","corrected_on":"2023-10-05","reason":"the 24-hour access rate was 40 %, not 80 %","values":[{"mission":"access","code":"mt-found","value":"100"},{"mission":"access","code":"snp-24h","value":"40"},{"mission":"pathways","code":"pathways-run","value":"2.4"},{"mission":"prevention","code":"actions","value":"6"}]}`),
		[]byte(`{"type":"DecideDuePayments","command_id":"fix-2-decide","contract_id":"` + t2 + `","as_of":"2023-10-05"}`),
	})
	out := filepath.Join(t.TempDir(), "N2.xml")
	spec, _ = payrun.Spec(payrun.Options{RunID: "N2", Through: "2022-12-31", ExecutionDate: "2023-10-09", Actor: "fanny"})
	rep, err := payrun.Run(ctx, s.agent, s.q, spec, out, nil)
	// T2's year-4 advance (112 125, due 2022-11-15) less the 4 375 taken back.
	if err != nil || len(rep.Notices) != 0 || rep.Total.String() != "107750.00" {
		t.Fatalf("netted: %+v %v", rep, err)
	}
	file, _ := os.ReadFile(out)
	if !bytes.Contains(file, []byte("retenue regularisation annee 2 4375.00")) {
		t.Fatalf("the remittance does not name what was kept:\n%s", file)
	}
	if list, _ := s.q.Overpayments(ctx, uuid.MustParse(t2), query.Window{}); len(list) != 0 {
		t.Fatalf("a notice for a regularisation netted: %+v", list)
	}
}
