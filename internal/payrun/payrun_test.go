package payrun_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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
		second: app.New(store, app.Options{Actor: "carole", ReplayHistory: true}), q: query.New(store, models, app.DefaultSchemes())}
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
	spec, err := payrun.Spec(payrun.Options{RunID: runID, Through: "2022-12-31", ExecutionDate: "2023-01-05", Actor: "fanny"})
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
// XSD is the one in ../shared/xsd when LEDGER_SEPA_XSD names that folder,
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
