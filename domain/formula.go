package domain

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// A payment line's computation and a withholding's cause are kept as a code
// and its operands (Formula, Withholding) beside the English text of Basis
// and Reason. Why: a reader in another language (the French console, a
// downstream system) renders them from the codes and the numbers; a stored
// English sentence would be shown as is or parsed back. The English text
// is made from the same codes by the templates below, so that the two
// cannot say different things.

// Formula codes, one per way a line is computed. Each takes the named
// operands of its template; numbers are canonical decimal text.
const (
	FormulaSignatureOperating  = "signature_operating"        // operating
	FormulaOperatingAdvance    = "operating_advance"          // rate, operating
	FormulaOperatingProrata    = "operating_prorata"          // operating, days, year_days
	FormulaFixedAdvance        = "fixed_advance"              // rate, fixed
	FormulaFixedAdvanceProrata = "fixed_advance_prorata"      // rate, fixed, days, year_days
	FormulaFixedProrata        = "fixed_prorata"              // fixed, days, year_days
	FormulaVariableProrata     = "variable_prorata"           // variable, achievement, days, year_days
	FormulaAdvancesDecided     = "advances_decided"           // year
	FormulaRecovery            = "recovery"                   // keep_rate, accrued, advances
	FormulaSeedTopup           = "seed_topup"                 // tier, after, before
	FormulaLetterOfIntent      = "letter_of_intent"           // tier, aid
	FormulaRegularisation      = "regularisation"             // now, was
	FormulaAidYear1Share       = "aid_year1_share"            // rate, aid, table, option, band
	FormulaAidYear             = "aid_year"                   // year, aid, table, option, band
	FormulaAidInstalment1      = "aid_instalment_1"           // rate, year, aid, table, option, band
	FormulaAidInstalment2      = "aid_instalment_2"           // year, aid, rate, patientele, baseline, target, first, table, option, band
	FormulaAidExtension1       = "aid_extension_instalment_1" // year, aid, added_fte, days, year_days, rate, table, band
	FormulaAidExtension2       = "aid_extension_instalment_2" // year, aid, added_fte, days, year_days, rate, first, table, band
	FormulaNotPublished        = "amount_not_published"       // component, mission, tier, rulebook
	FormulaCrisisSupplement    = "crisis_supplement"          // supplement, from
	FormulaAnnualCap           = "annual_cap"                 // tier, cap, due
)

// formulaEnglish is each formula in English: the Basis of its lines.
var formulaEnglish = map[string]string{
	FormulaSignatureOperating:  "100 % × {operating} operating",
	FormulaOperatingAdvance:    "{rate} × {operating} operating",
	FormulaOperatingProrata:    "{operating} operating × {days}/{year_days} days",
	FormulaFixedAdvance:        "{rate} × {fixed} fixed",
	FormulaFixedAdvanceProrata: "{rate} × {fixed} fixed × {days}/{year_days} days",
	FormulaFixedProrata:        "{fixed} fixed × {days}/{year_days} days",
	FormulaVariableProrata:     "{variable} variable × achievement {achievement} × {days}/{year_days} days",
	FormulaAdvancesDecided:     "advances decided for year {year}",
	FormulaRecovery:            "{keep_rate} × accrued {accrued} − advances {advances}",
	FormulaSeedTopup:           "{tier} seed funding {after} − {before}",
	FormulaLetterOfIntent:      "{tier} letter-of-intent aid {aid}",
	FormulaRegularisation:      "due under the corrected facts {now} − decided {was}",
	FormulaAidYear1Share:       "{rate} × year-1 aid {aid} (table {table}, option {option}, {band})",
	FormulaAidYear:             "year-{year} aid {aid} (table {table}, option {option}, {band})",
	FormulaAidInstalment1:      "{rate} × year-{year} aid {aid} (table {table}, option {option}, {band})",
	FormulaAidExtension1:       "{rate} × year-{year} aid {aid} for the added {added_fte} FTE × {days}/{year_days} days (table {table}, {band})",
	FormulaAidExtension2: "year-{year} aid {aid} for the added {added_fte} FTE × {days}/{year_days} days × rate {rate}" +
		" − instalment 1 {first} (table {table}, {band})",
	FormulaNotPublished:     "{component} of {mission} for {tier} not published in {rulebook}: 0.00 until published",
	FormulaCrisisSupplement: "crisis supplement {supplement} (crisis recognised from {from})",
	FormulaAnnualCap:        "{tier} annual cap: the year's dues {due} − cap {cap}",
	FormulaAidInstalment2: "year-{year} aid {aid} × rate {rate} (patientèle {patientele}, baseline {baseline}, target {target})" +
		" − instalment 1 {first} (table {table}, option {option}, {band})",
}

// Formula is how a line was computed: a code and its operands by name.
type Formula struct {
	Code string            `json:"code"`
	Args map[string]string `json:"args"`
}

// NewLine returns a line computed by a formula, its Basis the formula in
// English. args are name, value pairs; a value is a string, an int, or
// anything with a String method (Money, decimal.Decimal, Date).
func NewLine(mission, component string, amount Money, code string, args ...any) Line {
	f := Formula{Code: code, Args: make(map[string]string, len(args)/2)}
	for i := 0; i+1 < len(args); i += 2 {
		f.Args[args[i].(string)] = fmt.Sprint(args[i+1])
	}
	return Line{Mission: mission, Component: component, Amount: amount, Basis: f.English(), Formula: &f}
}

// English renders the formula in English.
func (f Formula) English() string {
	tpl, ok := formulaEnglish[f.Code]
	if !ok {
		return f.Code
	}
	return Fill(tpl, func(name string) string { return f.Args[name] })
}

// FormulaCodes lists the formula codes, sorted: a renderer's catalogue is
// tested against it.
func FormulaCodes() []string { return slices.Sorted(maps.Keys(formulaEnglish)) }

// FormulaArgs lists the operands a formula's template names.
func FormulaArgs(code string) []string { return Placeholders(formulaEnglish[code]) }

// Fill replaces each {name} of a template by value(name).
func Fill(tpl string, value func(name string) string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tpl, '{')
		j := strings.IndexByte(tpl[i+1:], '}')
		if i < 0 || j < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		b.WriteString(tpl[:i])
		b.WriteString(value(tpl[i+1 : i+1+j]))
		tpl = tpl[i+2+j:]
	}
}

// Placeholders lists the {names} of a template, in order.
func Placeholders(tpl string) []string {
	var out []string
	Fill(tpl, func(name string) string { out = append(out, name); return "" })
	return out
}

// Withholding codes.
const (
	// WithheldCalendarNotMet: deadlines passed without their fact on the
	// day an advance fell due (domain.md 2.4).
	WithheldCalendarNotMet = "calendar_not_met"
	// WithheldAmountNotPublished: the rulebook does not know the amount
	// the line needs (domain.md §2.10); a published amendment regularises.
	WithheldAmountNotPublished = "amount_not_published"
	// WithheldAnnualCap: the year's dues exceed the tier's annual cap.
	WithheldAnnualCap = "annual_cap"
)

// Withholding is why a payment is withheld: a code, the day it concerns and
// the facts that made it so.
type Withholding struct {
	Code string         `json:"code"`
	On   Date           `json:"on"`
	Late []LateDeadline `json:"late,omitempty"`
	// Amount not published: which amount of which rulebook. Annual cap:
	// the tier and the cap.
	Rulebook  string `json:"rulebook,omitempty"`
	Tier      string `json:"tier,omitempty"`
	Mission   string `json:"mission,omitempty"`
	Component string `json:"component,omitempty"`
	Cap       string `json:"cap,omitempty"`
}

// LateDeadline is a deadline passed without its fact.
type LateDeadline struct {
	Mission  string `json:"mission"`
	Kind     string `json:"kind"`
	Months   int    `json:"months"`
	Deadline Date   `json:"deadline"`
}

// English renders the withholding in English: the payment's Reason.
func (w Withholding) English() string {
	switch w.Code {
	case WithheldCalendarNotMet:
		late := make([]string, len(w.Late))
		for i, l := range w.Late {
			late[i] = fmt.Sprintf("%s %s deadline %s (%d months) passed", l.Mission, l.Kind, l.Deadline, l.Months)
		}
		return "calendar not met on " + w.On.String() + ": " + strings.Join(late, "; ")
	case WithheldAmountNotPublished:
		return fmt.Sprintf("amount not published: %s of %s for %s in %s", w.Component, w.Mission, w.Tier, w.Rulebook)
	case WithheldAnnualCap:
		return fmt.Sprintf("annual cap of %s reached: %s", w.Tier, w.Cap)
	}
	return w.Code
}
