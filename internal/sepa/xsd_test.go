package sepa_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/sepa"
)

// schemaDir is the folder of the EPC's schemas: LEDGER_SEPA_XSD (the
// shared folder, in CI) or the copies in testdata.
func schemaDir() string {
	if d := os.Getenv("LEDGER_SEPA_XSD"); d != "" {
		return d
	}
	return "schemas"
}

func load(t *testing.T, name string) *sepa.Schema {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(schemaDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sepa.LoadSchema(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// xmllintSays is xmllint's verdict on a document, or "" without xmllint.
func xmllintSays(t *testing.T, schema string, doc []byte) string {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("LEDGER_REQUIRE_XMLLINT") != "" {
			t.Fatal("xmllint is required here (apt-get install libxml2-utils)")
		}
		return ""
	}
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if exec.Command(bin, "--noout", "--schema", filepath.Join(schemaDir(), schema), f).Run() != nil {
		return "invalid"
	}
	return "valid"
}

func samplePain(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	m := func(s string) domain.Money { v, _ := domain.ParseMoney(s); return v }
	err := sepa.WritePain001(&b, sepa.Initiation{MessageID: "RUN-1", Created: time.Date(2023, 1, 4, 9, 30, 0, 0, time.UTC), Initiator: "Assurance Maladie",
		Batches: []sepa.Batch{{ID: "RUN-1-1", ExecutionDate: domain.MustDate("2023-01-05"), Debtor: sepa.Party{Name: "CPAM du Loiret", IBAN: "FR7630001007941234567890185", BIC: "BDFEFRPPCCT"},
			Transfers: []sepa.Transfer{
				{EndToEndID: "0123456789abcdef0123456789abcdef", Amount: m("60000.00"), Creditor: sepa.Party{Name: "CPTS du Val de Loire", IBAN: "FR7630006000011234567890189"}, Remittance: "ACI CPTS signature annee 1"},
				{EndToEndID: "fedcba9876543210fedcba9876543210", Amount: m("0.01"), Creditor: sepa.Party{Name: "Dr Élodie Œuvray", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"}},
			}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The validator and xmllint agree on a payment file and on each fault
// put into it; where xmllint is missing the validator's verdicts stand.
func TestValidatorAgreesWithXmllint(t *testing.T) {
	pain := load(t, "pain.001.001.09.xsd")
	good := samplePain(t)
	cases := map[string]func(string) string{
		"as written":      func(s string) string { return s },
		"NbOfTxs missing": func(s string) string { return strings.Replace(s, "<NbOfTxs>2</NbOfTxs>", "", 1) },
		"an IBAN in lower case": func(s string) string {
			return strings.Replace(s, "FR7630006000011234567890189", "fr7630006000011234567890189", 1)
		},
		"three decimal places":     func(s string) string { return strings.Replace(s, ">60000.00<", ">60000.001<", 1) },
		"an amount of zero":        func(s string) string { return strings.Replace(s, ">0.01<", ">0.00<", 1) },
		"the currency missing":     func(s string) string { return strings.Replace(s, ` Ccy="EUR"`, "", 1) },
		"an unknown element":       func(s string) string { return strings.Replace(s, "<ChrgBr>", "<Foo>x</Foo><ChrgBr>", 1) },
		"another namespace":        func(s string) string { return strings.Replace(s, "pain.001.001.09", "pain.001.001.03", 1) },
		"elements out of order":    func(s string) string { return strings.Replace(s, "<PmtMtd>TRF</PmtMtd>", "", 1) },
		"a name of 71 characters":  func(s string) string { return strings.Replace(s, "CPTS du Val de Loire", strings.Repeat("x", 71), 1) },
		"a date that is no date":   func(s string) string { return strings.Replace(s, "2023-01-05", "2023-02-30", 1) },
		"a service level not SEPA": func(s string) string { return strings.Replace(s, "<Cd>SEPA</Cd>", "<Cd>URGP</Cd>", 1) },
		"an unknown attribute": func(s string) string {
			return strings.Replace(s, `<InstdAmt Ccy="EUR">`, `<InstdAmt Ccy="EUR" x="1">`, 1)
		},
		"two BICs in one agent": func(s string) string {
			return strings.Replace(s, "<BICFI>COBADEFFXXX</BICFI>", "<BICFI>COBADEFFXXX</BICFI><BICFI>COBADEFFXXX</BICFI>", 1)
		},
		"text where elements go": func(s string) string { return strings.Replace(s, "<PmtId>", "<PmtId>text", 1) },
		"a second root":          func(s string) string { return s + "<Document/>" },
		"a DOCTYPE":              func(s string) string { return strings.Replace(s, "?>", "?><!DOCTYPE x [<!ENTITY a \"b\">]>", 1) },
		"a 36-character EndToEndId": func(s string) string {
			return strings.Replace(s, "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef0123", 1)
		},
	}
	for name, mutate := range cases {
		doc := []byte(mutate(string(good)))
		err := pain.Validate(doc)
		ours := map[bool]string{true: "valid", false: "invalid"}[err == nil]
		if want := map[bool]string{true: "valid", false: "invalid"}[name == "as written"]; ours != want {
			t.Errorf("%s: the validator says %s (%v)", name, ours, err)
		}
		if name == "a DOCTYPE" {
			continue // refused on purpose, where xmllint reads an internal subset
		}
		if lint := xmllintSays(t, "pain.001.001.09.xsd", doc); lint != "" && lint != ours {
			t.Errorf("%s: xmllint says %s, the validator %s (%v)", name, lint, ours, err)
		}
	}
}

// Both schemas load: nothing in them is outside the subset.
func TestBothSchemasLoad(t *testing.T) {
	load(t, "pain.001.001.09.xsd")
	load(t, "camt.053.001.08.xsd")
}

// A statement written as a bank sends it passes its schema (and xmllint
// agrees), and the payment file's transfers read back as written.
func TestStatementAndTransfersRoundTrip(t *testing.T) {
	m := func(s string) domain.Money { v, _ := domain.ParseMoney(s); return v }
	var b bytes.Buffer
	err := sepa.WriteCamt053(&b, sepa.Statement{MessageID: "M1", ID: "S1", IBAN: "FR7630001007941234567890185", Created: time.Date(2023, 1, 6, 6, 0, 0, 0, time.UTC),
		Closing: m("100.00"), Bookings: []sepa.Booking{
			{Amount: m("60000.00"), BookedOn: domain.MustDate("2023-01-05"), Reference: "R1", EndToEndID: "0123456789abcdef0123456789abcdef"},
			{Credit: true, Amount: m("0.01"), BookedOn: domain.MustDate("2023-01-06"), Reference: "R2", EndToEndID: "fedcba9876543210fedcba9876543210", ReturnReason: "AC04"},
			{Credit: true, Amount: m("10.00"), BookedOn: domain.MustDate("2023-01-06"), Reference: "R3", Remittance: "Remboursement INDU-0123456789AB <&>"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if lint := xmllintSays(t, "camt.053.001.08.xsd", b.Bytes()); lint != "" && lint != "valid" {
		t.Fatalf("xmllint refuses the statement:\n%s", b.String())
	}
	entries, err := sepa.ReadCamt053(b.Bytes())
	if err != nil || len(entries) != 3 || entries[1].ReturnReason != "AC04" || !entries[2].Credit || entries[0].Credit {
		t.Fatalf("%+v %v", entries, err)
	}
	transfers, err := sepa.ReadPain001(samplePain(t))
	if err != nil || len(transfers) != 2 || transfers[1].Creditor != "Dr Elodie OEuvray" || transfers[0].Amount.String() != "60000.00" {
		t.Fatalf("%+v %v", transfers, err)
	}
}
