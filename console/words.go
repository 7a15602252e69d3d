package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/cptsledger/ledger/domain"
)

// The ledger keeps codes and numbers (a line's formula, a withholding's
// facts, an event's data); the console says them in the reader's language
// from the templates below. A placeholder is {name:kind} or {path:kind},
// kind telling how to write the value: money, pct (a rate as a
// percentage), int, date, label (a code translated), labels (a list of
// codes), year, text (as typed). Why here and not in domain: the words are
// the console's; the English of the log (Basis, Reason) stays the domain's.

// formulas are the payment lines' computations, by domain.Formula code.
var formulas = map[string][2]string{
	domain.FormulaSignatureOperating:  {"100 % × {operating:money} de fonctionnement", "100% × {operating:money} operating"},
	domain.FormulaOperatingAdvance:    {"{rate:pct} × {operating:money} de fonctionnement", "{rate:pct} × {operating:money} operating"},
	domain.FormulaOperatingProrata:    {"{operating:money} de fonctionnement × {days:int}/{year_days:int} jours", "{operating:money} operating × {days:int}/{year_days:int} days"},
	domain.FormulaFixedAdvance:        {"{rate:pct} × {fixed:money} de part fixe", "{rate:pct} × {fixed:money} fixed part"},
	domain.FormulaFixedAdvanceProrata: {"{rate:pct} × {fixed:money} de part fixe × {days:int}/{year_days:int} jours", "{rate:pct} × {fixed:money} fixed part × {days:int}/{year_days:int} days"},
	domain.FormulaFixedProrata:        {"{fixed:money} de part fixe × {days:int}/{year_days:int} jours", "{fixed:money} fixed part × {days:int}/{year_days:int} days"},
	domain.FormulaVariableProrata: {"{variable:money} de part variable × atteinte des objectifs {achievement:pct} × {days:int}/{year_days:int} jours",
		"{variable:money} variable part × achievement {achievement:pct} × {days:int}/{year_days:int} days"},
	domain.FormulaAdvancesDecided: {"avances décidées pour l'année {year:year}", "advances decided for year {year:year}"},
	domain.FormulaRecovery:        {"{keep_rate:pct} × acquis {accrued:money} − avances {advances:money}", "{keep_rate:pct} × accrued {accrued:money} − advances {advances:money}"},
	domain.FormulaSeedTopup:       {"financement d'amorçage {tier:text} : {after:money} − {before:money}", "{tier:text} seed funding {after:money} − {before:money}"},
	domain.FormulaLetterOfIntent:  {"aide à la lettre d'intention {tier:text} : {aid:money}", "{tier:text} letter-of-intent aid {aid:money}"},
	domain.FormulaRegularisation:  {"dû selon les faits corrigés {now:money} − décidé {was:money}", "due under the corrected facts {now:money} − decided {was:money}"},
	domain.FormulaNotPublished: {"{component:label} de la mission {mission:label} non publié pour la taille {tier:text} ({rulebook:text}) : 0,00 € jusqu'à sa publication",
		"{component:label} of mission {mission:label} not published for {tier:text} ({rulebook:text}): 0.00 until it is"},
	domain.FormulaCrisisSupplement: {"supplément crise {supplement:money} (crise reconnue à partir du {from:date})", "crisis supplement {supplement:money} (crisis recognised from {from:date})"},
	domain.FormulaAnnualCap:        {"plafond annuel de la taille {tier:text} : dû de l'année {due:money} − plafond {cap:money}", "{tier:text} annual cap: the year's dues {due:money} − cap {cap:money}"},
	domain.FormulaAidYear1Share: {"{rate:pct} × aide de la première année {aid:money} (barème {table:text}, {option:label}, {band:label})",
		"{rate:pct} × year-1 aid {aid:money} (table {table:text}, {option:label}, {band:label})"},
	domain.FormulaAidYear: {"aide de l'année {year:year} : {aid:money} (barème {table:text}, {option:label}, {band:label})",
		"year-{year:year} aid {aid:money} (table {table:text}, {option:label}, {band:label})"},
	domain.FormulaAidInstalment1: {"{rate:pct} × aide de l'année {year:year} {aid:money} (barème {table:text}, {option:label}, {band:label})",
		"{rate:pct} × year-{year:year} aid {aid:money} (table {table:text}, {option:label}, {band:label})"},
	domain.FormulaAidInstalment2: {"aide de l'année {year:year} {aid:money} × taux {rate:pct} (patientèle {patientele:int}, référence {baseline:int}, cible {target:int}) − premier versement {first:money} (barème {table:text}, {option:label}, {band:label})",
		"year-{year:year} aid {aid:money} × rate {rate:pct} (patientèle {patientele:int}, baseline {baseline:int}, target {target:int}) − first instalment {first:money} (table {table:text}, {option:label}, {band:label})"},
	domain.FormulaAidExtension1: {"{rate:pct} × aide de l'année {year:year} {aid:money} pour {added_fte:label} ajouté × {days:int}/{year_days:int} jours (barème {table:text}, {band:label})",
		"{rate:pct} × year-{year:year} aid {aid:money} for the added {added_fte:label} × {days:int}/{year_days:int} days (table {table:text}, {band:label})"},
	domain.FormulaAidExtension2: {"aide de l'année {year:year} {aid:money} pour {added_fte:label} ajouté × {days:int}/{year_days:int} jours × taux {rate:pct} − premier versement {first:money} (barème {table:text}, {band:label})",
		"year-{year:year} aid {aid:money} for the added {added_fte:label} × {days:int}/{year_days:int} days × rate {rate:pct} − first instalment {first:money} (table {table:text}, {band:label})"},
}

// withholdings are the causes of a withheld payment, by domain code; late
// is one deadline passed.
var withholdings = map[string][2]string{
	domain.WithheldCalendarNotMet: {"calendrier non respecté au {on:date}", "calendar not met on {on:date}"},
	domain.WithheldAmountNotPublished: {"montant non publié : {component:label} de la mission {mission:label} pour la taille {tier:text} ({rulebook:text})",
		"amount not published: {component:label} of mission {mission:label} for {tier:text} ({rulebook:text})"},
	domain.WithheldAnnualCap: {"plafond annuel de la taille {tier:text} atteint : {cap:money}", "annual cap of {tier:text} reached: {cap:money}"},
	"late":                   {"{mission:label} : délai de {kind:label} de {months:int} mois échu le {deadline:date}", "{mission:label}: {kind:label} deadline of {months:int} months passed on {deadline:date}"},
}

// HasWords tells whether the console says in words what an event of the
// type did (a type without them is shown as its data only): every
// scheme's event types must have them (domain/schemetest).
func HasWords(eventType string) bool {
	_, ok := eventWords[eventType]
	return ok
}

// eventWords say what each event did, from its data.
var eventWords = map[string][2]string{
	"ContractSigned": {"Signature du contrat de {cpts.name:text} ({tier:text}, {population:int} habitants), missions : {missions:labels}",
		"Contract signed by {cpts.name:text} ({tier:text}, population {population:int}), missions: {missions:labels}"},
	"LetterOfIntentValidated": {"Lettre d'intention de {cpts.name:text} validée par {ars:typed} le {validated_on:date} ({tier:text}, {population:int} habitants)",
		"Letter of intent of {cpts.name:text} validated by {ars:typed} on {validated_on:date} ({tier:text}, population {population:int})"},
	"MissionStarted":     {"Démarrage de la mission {mission:label} le {started_on:date}", "Mission {mission:label} started on {started_on:date}"},
	"MissionDeployed":    {"Déploiement de la mission {mission:label} le {deployed_on:date}", "Mission {mission:label} deployed on {deployed_on:date}"},
	"IndicatorsReported": {"Indicateurs de l'année {contract_year:year} déclarés le {reported_on:date}", "Indicators of year {contract_year:year} reported on {reported_on:date}"},
	"PaymentDecided": {"{kind:label} de l'année {contract_year:year}{mission:suffix} : {amount:money}, {status:label} le {decided_on:date}",
		"{kind:label} of year {contract_year:year}{mission:suffix}: {amount:money}, {status:label} on {decided_on:date}"},
	"ContractTerminated":     {"Résiliation au {terminated_on:date} : {reason:typed}", "Terminated on {terminated_on:date}: {reason:typed}"},
	"ReportCorrected":        {"Rapport de l'année {contract_year:year} corrigé le {corrected_on:date} : {reason:typed}", "Report of year {contract_year:year} corrected on {corrected_on:date}: {reason:typed}"},
	"MissionDateCorrected":   {"Date de {kind:label} de la mission {mission:label} corrigée : {old_date:date} → {date:date} ({reason:typed})", "Date of {kind:label} of mission {mission:label} corrected: {old_date:date} → {date:date} ({reason:typed})"},
	"ContractTermsCorrected": {"Termes corrigés le {corrected_on:date} : population {old.population:int} → {new.population:int}, taille {old.tier:text} → {new.tier:text} ({reason:typed})", "Terms corrected on {corrected_on:date}: population {old.population:int} → {new.population:int}, tier {old.tier:text} → {new.tier:text} ({reason:typed})"},
	"TerminationCorrected":   {"Date de résiliation corrigée : {old_terminated_on:date} → {terminated_on:date} ({reason:typed})", "Termination date corrected: {old_terminated_on:date} → {terminated_on:date} ({reason:typed})"},
	"AidContractSigned": {"Signature par le médecin RPPS {doctor.rpps:text} ({doctor.specialty:label}), {option:label}, {band:label}, patientèle {patientele_baseline:int} → {patientele_target:int}",
		"Signed by doctor RPPS {doctor.rpps:text} ({doctor.specialty:label}), {option:label}, {band:label}, patientèle {patientele_baseline:int} → {patientele_target:int}"},
	"AssistantHired":      {"Embauche de l'assistant le {hired_on:date}", "Assistant hired on {hired_on:date}"},
	"PatienteleReported":  {"Patientèle de l'année {contract_year:year} : {patientele:int}", "Patientèle of year {contract_year:year}: {patientele:int}"},
	"PatienteleCorrected": {"Patientèle de l'année {contract_year:year} corrigée : {old_patientele:int} → {patientele:int} ({reason:typed})", "Patientèle of year {contract_year:year} corrected: {old_patientele:int} → {patientele:int} ({reason:typed})"},
	"RulebookAmendmentApplied": {"Avenant {amendment_id:typed} de {amends:text} pris en compte (publié le {published_on:date}, en vigueur le {effective_on:date}) : {reason:typed}",
		"Amendment {amendment_id:typed} of {amends:text} taken into account (published on {published_on:date}, in force on {effective_on:date}): {reason:typed}"},
	"CrisisNoted": {"Crise reconnue par {ars:typed} à partir du {from:date}, prise en compte au {noted_on:date} : {reason:typed}",
		"Crisis recognised by {ars:typed} from {from:date}, taken into account on {noted_on:date}: {reason:typed}"},
	"BankAccountRecorded": {"Compte bancaire {iban:iban} au nom de {holder:typed}, à partir du {effective_on:date}, saisi par {recorded_by:typed} (à confirmer par une autre personne)",
		"Bank account {iban:iban} in the name of {holder:typed}, from {effective_on:date}, recorded by {recorded_by:typed} (to be confirmed by another person)"},
	"BankAccountConfirmed": {"Compte bancaire confirmé par {confirmed_by:typed}", "Bank account confirmed by {confirmed_by:typed}"},
	"PaymentOrdered": {"{kind:label} de l'année {contract_year:year} : {amount:money} mis en paiement (lot {run_id:typed}, exécution le {execution_date:date}) sur le compte {iban:iban}",
		"{kind:label} of year {contract_year:year}: {amount:money} ordered (run {run_id:typed}, executed on {execution_date:date}) to account {iban:iban}"},
	"PaymentSettled": {"Virement de {amount:money} débité le {booked_on:date} (relevé {statement:typed})", "Transfer of {amount:money} booked on {booked_on:date} (statement {statement:typed})"},
	"PaymentReturned": {"Virement de {amount:money} retourné le {booked_on:date}, motif {reason_code:text} (relevé {statement:typed})",
		"Transfer of {amount:money} returned on {booked_on:date}, reason {reason_code:text} (statement {statement:typed})"},
	"OverpaymentNotified": {"Indu de {amount:money} notifié le {notice_on:date} ({reference:text}), à rembourser ou contester avant le {deadline:date} : {cause:typed}",
		"Overpayment of {amount:money} notified on {notice_on:date} ({reference:text}), to repay or contest by {deadline:date}: {cause:typed}"},
	"OverpaymentContested": {"Indu contesté le {contested_on:date} : {reason:typed}", "Overpayment contested on {contested_on:date}: {reason:typed}"},
	"ContestDecided":       {"Contestation jugée le {decided_on:date} : {outcome:label}, {amount:money} dus ({reason:typed})", "Contest decided on {decided_on:date}: {outcome:label}, {amount:money} owed ({reason:typed})"},
	"OverpaymentRepaid":    {"Remboursement de {amount:money} reçu le {booked_on:date} (relevé {statement:typed})", "Repayment of {amount:money} received on {booked_on:date} (statement {statement:typed})"},
	"AssistantExtended": {"Extension de l'assistant de {added_fte:label} à partir du {on:date} (zone prioritaire, {rulebook:text})",
		"Assistant extended by {added_fte:label} from {on:date} (priority zone, {rulebook:text})"},
	"PersonalDataErased": {"Données personnelles du médecin effacées le {erased_on:date} (clé détruite) : {reason:typed}",
		"The doctor's personal data erased on {erased_on:date} (key destroyed): {reason:typed}"},
	"CoordinatedPracticeJoined": {"Exercice coordonné ({form:label}) rejoint le {joined_on:date}", "Coordinated practice ({form:label}) joined on {joined_on:date}"},
	"HiringCorrected":           {"Date d'embauche corrigée : {old_hired_on:date} → {hired_on:date} ({reason:typed})", "Hiring date corrected: {old_hired_on:date} → {hired_on:date} ({reason:typed})"},
}

// pick returns a template in the language.
func pick(lang string, m [2]string) string {
	if lang == "en" {
		return m[1]
	}
	return m[0]
}

// say fills a template in the language: each {name:kind} is value(name)
// written as kind says, escaped; a value missing is a dash, never a raw
// code. Text a person typed (kind typed: a reason) is marked as such: it is
// shown as typed, in whatever language it was typed.
func say(lang, tpl string, value func(name string) (any, bool)) template.HTML {
	return template.HTML(domain.Fill(template.HTMLEscapeString(tpl), func(ph string) string {
		name, kind, _ := strings.Cut(ph, ":")
		v, ok := value(name)
		if !ok || v == nil {
			if kind == "suffix" {
				return ""
			}
			return "—"
		}
		out := template.HTMLEscapeString(formatValue(lang, kind, v))
		if kind == "typed" {
			return typed(out)
		}
		return out
	}))
}

// typed marks escaped text a person typed.
func typed(escaped string) string { return `<span class="typed">` + escaped + `</span>` }

// formatValue writes one value as its kind says.
func formatValue(lang, kind string, v any) string {
	s := fmt.Sprint(v)
	switch kind {
	case "money":
		if m, err := domain.ParseMoney(s); err == nil {
			return formatMoney(lang, m)
		}
		if d, err := decimal.NewFromString(s); err == nil { // an exact amount before rounding
			if lang == "en" {
				return "€" + formatDecimal(lang, d)
			}
			return formatDecimal(lang, d) + "\u00a0€"
		}
	case "pct":
		if d, err := decimal.NewFromString(s); err == nil {
			sep := "\u00a0%"
			if lang == "en" {
				sep = "%"
			}
			return formatDecimal(lang, d.Shift(2)) + sep
		}
	case "int":
		if n, err := strconv.Atoi(s); err == nil {
			return formatInt(lang, n)
		}
	case "date":
		if d, err := domain.ParseDate(s); err == nil {
			return formatDate(lang, d)
		}
	case "iban": // masked: a page is not where an account number is copied from
		return domain.MaskIBAN(s)
	case "label":
		return translate(lang, s)
	case "suffix": // an optional label after a separator
		if s == "" {
			return ""
		}
		return " · " + translate(lang, s)
	case "labels":
		if list, ok := v.([]any); ok {
			out := make([]string, len(list))
			for i, x := range list {
				out[i] = translate(lang, fmt.Sprint(x))
			}
			return strings.Join(out, ", ")
		}
	}
	return s
}

// formatDecimal writes a decimal with the language's separators, without
// trailing zeros.
func formatDecimal(lang string, d decimal.Decimal) string {
	s := d.String()
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	n, err := strconv.Atoi(whole)
	if err != nil {
		return s
	}
	out := formatInt(lang, n)
	if frac != "" {
		out += map[bool]string{true: ".", false: ","}[lang == "en"] + frac
	}
	if neg {
		out = "−" + out
	}
	return out
}

// formulaText is a line's computation in the language; a line stored
// before formulas were kept shows its Basis.
func formulaText(lang string, f *domain.Formula, basis string) template.HTML {
	tpl, ok := formulas[codeOf(f)]
	if !ok {
		return template.HTML(template.HTMLEscapeString(basis))
	}
	return say(lang, pick(lang, tpl), func(name string) (any, bool) { v, ok := f.Args[name]; return v, ok })
}

// withheldText is why a payment is withheld, in the language; a payment
// stored before withholdings were kept shows its Reason.
// A regularisation's reason is the corrections' reasons, as typed.
func withheldText(lang string, w *domain.Withholding, reason string) template.HTML {
	if w == nil {
		return template.HTML(typed(template.HTMLEscapeString(reason)))
	}
	tpl, ok := withholdings[w.Code]
	if !ok {
		return template.HTML(typed(template.HTMLEscapeString(reason)))
	}
	fields := map[string]any{"on": w.On.String(), "rulebook": w.Rulebook, "tier": w.Tier, "mission": w.Mission, "component": w.Component, "cap": w.Cap}
	out := string(say(lang, pick(lang, tpl), func(n string) (any, bool) { v, ok := fields[n]; return v, ok }))
	var late []string
	for _, l := range w.Late {
		args := map[string]any{"mission": l.Mission, "kind": l.Kind, "months": l.Months, "deadline": l.Deadline.String()}
		late = append(late, string(say(lang, pick(lang, withholdings["late"]), func(n string) (any, bool) { v, ok := args[n]; return v, ok })))
	}
	if len(late) > 0 {
		out += " — " + strings.Join(late, " ; ")
	}
	return template.HTML(out)
}

func codeOf(f *domain.Formula) string {
	if f == nil {
		return ""
	}
	return f.Code
}

// eventText says what an event did, from its data; an event of a type
// without words shows its type. The page calls it only for an event its
// scheme's decoder read (query.AuditEvent.Decoded): the words' paths are
// those of the current schema version, and data of another version is
// shown as stored, never read with the wrong shape.
func eventText(lang, typ string, data json.RawMessage) template.HTML {
	tpl, ok := eventWords[typ]
	if !ok {
		return template.HTML(template.HTMLEscapeString(typ))
	}
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(data)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return template.HTML(template.HTMLEscapeString(typ))
	}
	return capitalized(say(lang, pick(lang, tpl), func(path string) (any, bool) { return lookup(m, path) }))
}

// capitalized begins a sentence with a capital: a payment's entry starts
// with its kind, a label written in lower case ("versement à la
// signature…"). Tags before the first letter are skipped.
func capitalized(h template.HTML) template.HTML {
	s := string(h)
	i := 0
	for i < len(s) && s[i] == '<' {
		end := strings.IndexByte(s[i:], '>')
		if end < 0 {
			return h
		}
		i += end + 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	if !unicode.IsLower(r) {
		return h
	}
	return template.HTML(s[:i] + string(unicode.ToUpper(r)) + s[i+size:])
}

// lookup follows a dotted path in decoded JSON.
func lookup(m map[string]any, path string) (any, bool) {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = o[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// prettyJSON indents an event's data for its details view (the template
// escapes it).
func prettyJSON(data json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		return string(data)
	}
	return b.String()
}
