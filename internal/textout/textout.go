// Package textout writes what the ledger answers as text for a terminal:
// aligned tables without trailing spaces, amounts grouped by thousands.
// The console writes the same answers as HTML, --json as JSON.
package textout

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/query"
)

// Plural writes a count with its noun, "1 stream", "2 streams".
func Plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// NewTable returns a writer of aligned columns whose lines carry no
// trailing spaces (tabwriter pads the last cell of a row ending in a tab).
func NewTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(&trimSpaces{w: w}, 0, 0, 2, ' ', 0)
}

// NewRightTable is NewTable with every column aligned to the right (the
// figures of a report).
func NewRightTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(&trimSpaces{w: w}, 0, 0, 2, ' ', tabwriter.AlignRight)
}

// IsTerminal tells whether a reader or a writer is a terminal: a log file
// or a pipe gets no progress frames.
func IsTerminal(rw any) bool {
	f, ok := rw.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// trimSpaces drops the spaces that end a line.
type trimSpaces struct {
	w       io.Writer
	pending int // spaces seen and not yet written
}

func (t *trimSpaces) Write(p []byte) (int, error) {
	var out []byte
	for _, b := range p {
		switch b {
		case ' ':
			t.pending++
			continue
		case '\n':
			t.pending = 0
		default:
			for ; t.pending > 0; t.pending-- {
				out = append(out, ' ')
			}
		}
		out = append(out, b)
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Payments writes payments, one a line.
func Payments(w io.Writer, ps []query.Payment) error {
	tw := NewTable(w)
	fmt.Fprintln(tw, "KIND\tYEAR\tMISSION\tDUE\tDECIDED\tSTATUS\tAMOUNT\tRULEBOOK\tEXECUTION\t")
	for _, p := range ps {
		m := ""
		if p.Mission != nil {
			m = *p.Mission
		}
		rulebook := p.Rulebook
		if p.Table != "" {
			rulebook += " (table " + p.Table + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%12s\t%s\t%s\t\n", p.Kind, p.ContractYear, m, p.DueOn, p.DecidedOn, p.Status, p.Amount, rulebook, p.ExecutionStatus)
	}
	return tw.Flush()
}

// Audit writes an audit trail, each correction linked to what it
// corrects by revision.
func Audit(w io.Writer, views []query.AuditEvent) error {
	revision := map[uuid.UUID]uint64{}
	for _, v := range views {
		revision[v.EventID] = v.Revision
	}
	tw := NewTable(w)
	fmt.Fprintln(tw, "REV\tPOS\tTYPE\tOCCURRED\tRECORDED\tACTOR\tCOMMAND\tHASH\tCORRECTION\t")
	for _, v := range views {
		note := ""
		if v.Corrects != nil {
			note = "corrects rev " + fmt.Sprint(revision[*v.Corrects])
		}
		for _, c := range v.CorrectedBy {
			note = strings.TrimSpace(note + " corrected by rev " + fmt.Sprint(revision[c]))
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s…\t%s\t\n", v.Revision, v.Position, v.Type, v.OccurredOn, v.RecordedAt[:19]+"Z",
			v.Actor, v.CommandID, v.Hash.String()[:16], note)
	}
	return tw.Flush()
}

// Contract prints a contract's terms, status, balance and next
// deadline.
func Contract(out io.Writer, d query.ContractDetail, b query.Balance) error {
	tw := NewTable(out)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("contract", d.ContractID)
	row("name", d.Name)
	row("scheme", d.Scheme)
	row("status", d.Status)
	row("cpam", d.CPAM)
	if d.ARS != "" {
		row("ars", d.ARS)
	}
	row("rulebook", d.Rulebook)
	row("signed on", d.SignedOn)
	if !d.TerminatedOn.IsZero() {
		row("terminated on", d.TerminatedOn)
	}
	if c := d.CPTS; c != nil {
		row("tier", d.Tier)
		row("population", c.Population)
		row("missions", strings.Join(c.Missions, ", "))
		row("snp regulation", c.SNPRegulation)
	}
	if a := d.Aid; a != nil {
		row("rpps", a.RPPS)
		row("specialty", a.Specialty)
		row("option", a.Option)
		row("band", a.Band)
		row("patientele", fmt.Sprintf("%d -> %d", a.PatienteleBaseline, a.PatienteleTarget))
		if !a.HiredOn.IsZero() {
			row("hired on", a.HiredOn)
		}
		if x := a.Extension; x != nil {
			row("extension", fmt.Sprintf("+%s FTE from %s", x.AddedFTE, x.On))
		}
		for _, dl := range d.Deadlines {
			met := "not met"
			if !dl.DoneOn.IsZero() {
				met = "met on " + dl.DoneOn.String()
			}
			row("commitment", fmt.Sprintf("%s within %d months, by %s: %s", dl.Mission, dl.Months, dl.Deadline, met))
		}
	}
	years := make([]string, len(d.ReportedYears))
	for i, y := range d.ReportedYears {
		years[i] = fmt.Sprint(y)
	}
	if len(years) == 0 {
		years = []string{"none"}
	}
	row("reported years", strings.Join(years, ", "))
	row("payments", fmt.Sprintf("%d, %s decided (%s regularised, %s to recover)", d.Payments, b.DecidedTotal, b.RegularisedTotal, b.OutstandingRecovery))
	row("next deadline", nextDeadline(d))
	if l := d.LetterOfIntent; l != nil {
		row("letter of intent", letterText(l))
	}
	row("bank account", accountText(d.BankAccount))
	for _, a := range d.PendingAccounts {
		row("account change", fmt.Sprintf("%s (%s) from %s, recorded by %s, awaits confirmation by another person (account %s)",
			a.IBAN, a.Holder, a.EffectiveOn, a.RecordedBy, a.AccountID))
	}
	return tw.Flush()
}

// accountText says the account a contract is paid to, or that none is.
func accountText(a *query.BankAccount) string {
	if a == nil {
		return "none confirmed: nothing is paid (RecordBankAccount, then ConfirmBankAccount by another person)"
	}
	return fmt.Sprintf("%s (%s) from %s, recorded by %s, confirmed by %s", a.IBAN, a.Holder, a.EffectiveOn, a.RecordedBy, a.ConfirmedBy)
}

// Letter prints a letter of intent and its aid.
func Letter(out io.Writer, l query.LetterOfIntent) error {
	tw := NewTable(out)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("letter of intent", l.LetterID)
	row("name", l.Name)
	row("cpam", l.CPAM)
	row("ars", l.ARS)
	row("validated on", l.ValidatedOn)
	row("tier", fmt.Sprintf("%s (population %d, %s)", l.Tier, l.Population, l.Rulebook))
	aid := "not seen"
	if p := l.Aid; p != nil {
		aid = fmt.Sprintf("%s %s on %s", p.Amount, p.Status, p.DecidedOn)
	}
	row("aid", aid)
	follows := "none yet"
	if l.ContractID != nil {
		follows = l.ContractID.String()
	}
	row("followed by", follows)
	return tw.Flush()
}

// letterText says the letter of intent a contract follows and its aid.
func letterText(l *query.LetterOfIntent) string {
	aid := "no aid seen"
	if p := l.Aid; p != nil {
		aid = fmt.Sprintf("aid %s %s on %s", p.Amount, p.Status, p.DecidedOn)
	}
	return fmt.Sprintf("%s, validated by %s on %s (%s): %s", l.LetterID, l.ARS, l.ValidatedOn, l.Tier, aid)
}

// nextDeadline says the contract's next deadline to be worked, or none.
func nextDeadline(d query.ContractDetail) string {
	if dl := d.NextDeadline; dl != nil {
		return fmt.Sprintf("%s %s, %d months: %s (%s)", dl.Mission, dl.Kind, dl.Months, dl.Deadline, dl.Status)
	}
	return "none"
}

// Rulebooks prints the versions, then the amounts of each by tier (a
// dash for an amount not published), the caps, the amendments and the
// crises.
func Rulebooks(out io.Writer, r query.Rulebooks) error {
	tw := NewTable(out)
	fmt.Fprintln(tw, "VERSION\tIN FORCE\tTITLE")
	for _, v := range r.Versions {
		to := "…"
		if !v.InForceTo.IsZero() {
			to = v.InForceTo.String()
		}
		fmt.Fprintf(tw, "%s\t%s to %s\t%s\n", v.ID, v.InForceFrom, to, v.Title)
	}
	for _, v := range r.Versions {
		fmt.Fprintf(tw, "\nAMOUNTS OF %s\t%s\n", v.ID, strings.Join(r.Tiers, "\t"))
		byKey := map[string]map[string]string{}
		var keys []string
		for _, a := range v.Amounts {
			k := a.Component
			if a.Mission != "" {
				k = a.Mission + " " + a.Component
			}
			if byKey[k] == nil {
				byKey[k] = map[string]string{}
				keys = append(keys, k)
			}
			s := "not published"
			if a.Amount != nil {
				s = *a.Amount
			}
			if a.Amendment != nil {
				s += " (" + a.Amendment.ID + ")"
			}
			byKey[k][a.Tier] = s
		}
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\n", k, strings.Join(byTier(r.Tiers, byKey[k]), "\t"))
		}
		if len(v.AnnualCaps) > 0 {
			caps := map[string]string{}
			for _, c := range v.AnnualCaps {
				caps[c.Tier] = c.Amount
			}
			fmt.Fprintf(tw, "annual cap\t%s\n", strings.Join(byTier(r.Tiers, caps), "\t"))
		}
	}
	fmt.Fprintln(tw, "\nAMENDMENT\tAMENDS\tEFFECTIVE\tPUBLISHED\tAMOUNTS\tEVENT")
	for _, a := range r.Amendments {
		rows := make([]string, len(a.Amounts))
		for i, s := range a.Amounts {
			rows[i] = fmt.Sprintf("%s %s %s %s", s.Tier, s.Mission, s.Component, s.Amount)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Amends, a.Effective, a.Published, strings.Join(rows, "; "), a.EventID)
	}
	fmt.Fprintln(tw, "\nCRISIS\tARS\tCONTRACT\tFROM\tTO\tSTATUS")
	for _, c := range r.Crises {
		contract, to, status := "all", "…", "recognised"
		if c.ContractID != nil {
			contract = c.ContractID.String()
		}
		if !c.To.IsZero() {
			to = c.To.String()
		}
		if c.Withdrawn {
			status = "withdrawn"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Recognition, c.ARS, contract, c.From, to, status)
	}
	return tw.Flush()
}

// byTier lists the cells of a row in the order of the tiers.
func byTier(tiers []string, cells map[string]string) []string {
	out := make([]string, len(tiers))
	for i, t := range tiers {
		out[i] = cells[t]
	}
	return out
}

// GroupThousands writes 1234567.89 as "1 234 567.89".
func GroupThousands(m domain.Money) string {
	s := m.String()
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	intPart, frac := s[:len(s)-3], s[len(s)-3:]
	if neg {
		return "-" + groupDigits(intPart) + frac
	}
	return groupDigits(intPart) + frac
}

// GroupInt writes 175000 as "175 000".
func GroupInt(n int) string {
	if n < 0 {
		return "-" + groupDigits(fmt.Sprint(-n))
	}
	return groupDigits(fmt.Sprint(n))
}

// groupDigits puts a space between each group of three digits.
func groupDigits(digits string) string {
	var b []byte
	for i, ch := range []byte(digits) {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b = append(b, ' ')
		}
		b = append(b, ch)
	}
	return string(b)
}
