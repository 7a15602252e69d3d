package domain_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
)

func TestAddMonthsClampsToMonthEnd(t *testing.T) {
	for _, tc := range []struct {
		from   string
		months int
		want   string
	}{
		{"2021-08-31", 6, "2022-02-28"}, {"2019-08-31", 6, "2020-02-29"}, {"2020-02-29", 12, "2021-02-28"},
		{"2020-02-29", 48, "2024-02-29"}, {"2021-01-31", 1, "2021-02-28"}, {"2021-01-31", 3, "2021-04-30"},
		{"2021-03-15", -2, "2021-01-15"}, {"2021-12-31", 2, "2022-02-28"},
	} {
		if got := domain.MustDate(tc.from).AddMonths(tc.months).String(); got != tc.want {
			t.Errorf("%s + %d months = %s, want %s", tc.from, tc.months, got, tc.want)
		}
	}
}

func TestParseDateIsStrict(t *testing.T) {
	for _, bad := range []string{"", "2021-2-01", "2021-02-30", "01/02/2021", "2021-02-01T00:00:00Z", " 2021-02-01"} {
		if _, err := domain.ParseDate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	var d domain.Date
	if err := json.Unmarshal([]byte(`"2024-02-29"`), &d); err != nil || d.String() != "2024-02-29" {
		t.Fatalf("%v %s", err, d)
	}
	if !(domain.Date{}).IsZero() || domain.MustDate("1970-01-01").IsZero() {
		t.Fatal("the zero date must be unset, and 1970-01-01 a date")
	}
}

// Rounding is one step per line, to the cent, half away from zero.
func TestCentsRoundHalfAwayFromZero(t *testing.T) {
	for _, tc := range []struct {
		num, den int64
		want     string
	}{
		{1, 200, "0.01"}, {-1, 200, "-0.01"}, {1, 300, "0.00"}, {2, 300, "0.01"}, {-2, 300, "-0.01"},
		{5730375, 366, "15656.76"}, {12345, 1000, "12.35"}, {-12345, 1000, "-12.35"}, {12344999, 1000000, "12.34"},
	} {
		if got := domain.Ratio(tc.num, tc.den).Cents().String(); got != tc.want {
			t.Errorf("%d/%d → %s, want %s", tc.num, tc.den, got, tc.want)
		}
	}
	// 1/3 + 1/3 + 1/3 is exactly 1: no binary fraction, no silent precision.
	third := domain.Ratio(1, 3)
	if third.Add(third).Add(third).Cents().String() != "1.00" {
		t.Fatal("exact arithmetic lost precision")
	}
}

func TestMoneyJSONHasTwoDecimals(t *testing.T) {
	m := domain.MustMoney("60000")
	b, _ := json.Marshal(m)
	if string(b) != `"60000.00"` {
		t.Fatalf("%s", b)
	}
	if _, err := domain.ParseMoney("1.234"); err == nil {
		t.Fatal("three decimals accepted")
	}
	if domain.MoneyFromCents(-5).String() != "-0.05" || domain.MustMoney("-41589.04").Cents() != -4158904 {
		t.Fatal("cents conversions")
	}
}

// Every rejection code is a constant of a codes.go file, documented in
// docs/domain.md; no code is written as a literal elsewhere.
func TestEveryCodeIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/domain.md")
	if err != nil {
		t.Fatal(err)
	}
	constant := regexp.MustCompile(`(?m)^\s*Code\w+\s*=\s*"([a-z0-9_]+)"`)
	codes := 0
	for _, f := range []string{"codes.go", "cpts/codes.go", "assistant/codes.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range constant.FindAllSubmatch(src, -1) {
			codes++
			if !bytes.Contains(doc, []byte("| `"+string(m[1])+"` |")) {
				t.Errorf("code %s (%s) is not in the table of docs/domain.md", m[1], f)
			}
		}
	}
	if codes < 40 {
		t.Fatalf("found %d codes: the catalogue files moved?", codes)
	}
	literal := regexp.MustCompile(`(Reject|\.Add|UnknownCommand)\("[a-z_]+"`)
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if m := literal.Find(src); m != nil {
			t.Errorf("%s writes a code as a literal (%s): use a constant of the catalogue", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A replay in a window leaves out a correction only when it has not seen
// the event the correction names.
func TestOutsideWindow(t *testing.T) {
	target := uuid.New()
	c := domain.TerminationCorrected{Corrects: target}
	if !domain.OutsideWindow(c, func(uuid.UUID) bool { return false }) {
		t.Fatal("a correction of an event the window did not see is applied")
	}
	if domain.OutsideWindow(c, func(id uuid.UUID) bool { return id == target }) {
		t.Fatal("a correction of an event the window saw is left out")
	}
	if domain.OutsideWindow(domain.ContractTerminated{}, func(uuid.UUID) bool { return false }) {
		t.Fatal("an event that corrects nothing is left out")
	}
}
