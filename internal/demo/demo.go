// Package demo is `ledger demo`: a national history generated
// (internal/gen), submitted through the command path of `ledger submit`,
// projected, and reported on — what a new user sees first.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/gen"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

// reports prints what the demo shows of the read models: tiers, aid,
// years, alerts and one contract's history.
func reports(e *Env, q *query.Ledger, db *projections.DB, today domain.Date) error {
	if err := tiers(e, db); err != nil {
		return err
	}
	if err := aid(e, db); err != nil {
		return err
	}
	if err := years(e, q); err != nil {
		return err
	}
	if err := amendment2(e, q, db); err != nil {
		return err
	}
	if err := alerts(e, q, today); err != nil {
		return err
	}
	return oneContract(e, q, db)
}

func tiers(e *Env, db *projections.DB) error {
	contracts, err := db.Contracts(e.Ctx)
	if err != nil {
		return err
	}
	count := map[string]int{}
	terminated := 0
	for _, c := range contracts {
		count[c.Tier]++
		if !c.TerminatedOn.IsZero() {
			terminated++
		}
	}
	fmt.Fprintln(e.Out, "== Contracts per tier")
	tw := textout.NewRightTable(e.Out)
	fmt.Fprintln(tw, "tier\tpopulation\tcontracts\t")
	rb, _ := cpts.Embedded().InForce(domain.DateOf(time.Now()))
	for _, t := range rb.Tiers {
		fmt.Fprintf(tw, "%s\t%s\t%d\t\n", t.Code, populationBand(t), count[t.Code])
	}
	fmt.Fprintf(tw, "all\t\t%d\t\n", len(contracts))
	tw.Flush()
	fmt.Fprintf(e.Out, "   %d terminated\n\n", terminated)
	return nil
}

func years(e *Env, q *query.Ledger) error {
	totals, err := q.Totals(e.Ctx, "scheme", query.Window{})
	if err != nil {
		return err
	}
	byYear := map[int]map[string]domain.Money{}
	var years []int
	for _, t := range totals {
		if t.CalendarYear == nil {
			continue // the grand total
		}
		y := *t.CalendarYear
		if byYear[y] == nil {
			byYear[y] = map[string]domain.Money{}
			years = append(years, y)
		}
		byYear[y][t.Key] = t.Decided
	}
	slices.Sort(years)
	withheld := map[int]int{}
	err = q.Export(e.Ctx, query.ExportFilter{PerPayment: true}, query.Window{}, domain.Money.String, func(row []string) error {
		if row[11] == cpts.StatusWithheld {
			var y int
			fmt.Sscan(row[10][:4], &y)
			withheld[y]++
		}
		return nil
	})
	if err != nil {
		return err
	}
	crisis, notPublished, err := crisisYears(e, q)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.Out, "== Amounts decided per calendar year (generated history), CPTS next to the published national totals, the crisis mission, and the aid")
	tw := textout.NewRightTable(e.Out)
	fmt.Fprintln(tw, "year\tCPTS decided (€)\twithheld advances\tCPTS published (€)\tof which crisis settled (€)\tcrisis lines not published\tassistant aid decided (€)\t")
	for _, y := range years {
		pub := "—"
		for _, p := range cpts.PublishedAmounts() {
			if p.Year == y {
				pub = textout.GroupThousands(p.Amount)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%d\t%s\t\n", y, textout.GroupThousands(byYear[y][cpts.Scheme]), withheld[y], pub,
			textout.GroupThousands(crisis[y]), notPublished[y], textout.GroupThousands(byYear[y][assistant.Scheme]))
	}
	tw.Flush()
	fmt.Fprintln(e.Out, "   crisis settled: the crisis plan and supplements of the balances and regularisations decided in the year (advances are")
	fmt.Fprintln(e.Out, "   trued up by the balances); not published: crisis lines withheld for want of the tier's amount (ledger rulebooks)")
	fmt.Fprintln(e.Out)
	return nil
}

// demoCrisisYears sums, per calendar year of decision, the crisis
// mission's lines of the balances and regularisations (what the years
// settled for it), and counts its lines withheld for an amount not
// published (at 0.00).
func crisisYears(e *Env, q *query.Ledger) (settled map[int]domain.Money, notPublished map[int]int, err error) {
	settled, notPublished = map[int]domain.Money{}, map[int]int{}
	h := query.ExportHeader(false)
	col := func(name string) int { return slices.Index(h, name) }
	decided, kind, mission, amount := col("decided_on"), col("kind"), col("line_mission"), col("line_amount")
	err = q.Export(e.Ctx, query.ExportFilter{}, query.Window{}, domain.Money.String, func(row []string) error {
		if row[mission] != cpts.MissionCrisis {
			return nil
		}
		var y int
		fmt.Sscan(row[decided][:4], &y)
		m, err := domain.ParseMoney(row[amount])
		if err != nil {
			return err
		}
		switch {
		case m.IsZero():
			notPublished[y]++
		case row[kind] == cpts.KindAnnualBalance || row[kind] == domain.KindRegularisation:
			settled[y] = settled[y].Add(m)
		}
		return nil
	})
	return settled, notPublished, err
}

func aid(e *Env, db *projections.DB) error {
	rows, err := db.SQL().QueryContext(e.Ctx, `SELECT rulebook, option, COUNT(*) FROM aid_contracts GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		return err
	}
	defer rows.Close()
	fmt.Fprintln(e.Out, "== Medical-assistant aid contracts by rulebook and option (FTE share)")
	tw := textout.NewRightTable(e.Out)
	fmt.Fprintln(tw, "rulebook\toption\tcontracts\t")
	total := 0
	for rows.Next() {
		var rb, option string
		var n int
		if err := rows.Scan(&rb, &option, &n); err != nil {
			return err
		}
		total += n
		fmt.Fprintf(tw, "%s\t%s\t%d\t\n", rb, option, n)
	}
	fmt.Fprintf(tw, "all\t\t%d\t\n", total)
	tw.Flush()
	if err := rows.Err(); err != nil {
		return err
	}
	var extended int
	var added int64
	if err := db.SQL().QueryRowContext(e.Ctx, `SELECT COUNT(DISTINCT contract_id), COALESCE(SUM(amount_cents), 0) FROM payments
		WHERE kind IN ('extension_instalment_1', 'extension_instalment_2')`).Scan(&extended, &added); err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "   extended under the 2024 convention (ExtendAssistant, a GP's full-time assistant + 1/2 or 1 FTE): %d contracts, %s € decided for the added shares\n\n",
		extended, textout.GroupThousands(domain.MoneyFromCents(added)))
	return nil
}

func alerts(e *Env, q *query.Ledger, today domain.Date) error {
	alerts, err := q.Alerts(e.Ctx, query.Window{AsOf: today}, cpts.DueSoonDays, query.AlertFilter{})
	if err != nil {
		return err
	}
	count, commitments := map[string]int{}, map[string]int{}
	for _, a := range alerts {
		if a.Kind == assistant.DeadlineKindCommitment {
			commitments[a.Status]++ // an aid contract's, told apart below
			continue
		}
		count[a.Status]++
	}
	fmt.Fprintf(e.Out, "== Deadline alerts as of %s (window %d days; ledger alerts --as-of %s)\n", today, cpts.DueSoonDays, today)
	for _, s := range []string{cpts.AlertOverdue, cpts.AlertDueSoon, cpts.AlertPending, cpts.AlertMetLate, cpts.AlertMet} {
		fmt.Fprintf(e.Out, "   %-9s %5d\n", s, count[s])
	}
	fmt.Fprintf(e.Out, "   aid contracts signed under avenant 7 without a coordinated practice, their commitment to join one within 24 months: %d overdue (payments suspended), %d met late, %d met, %d pending\n",
		commitments[cpts.AlertOverdue], commitments[cpts.AlertMetLate], commitments[cpts.AlertMet], commitments[cpts.AlertPending]+commitments[cpts.AlertDueSoon])
	shown := 0
	for _, a := range alerts {
		if a.Kind == assistant.DeadlineKindCommitment {
			continue
		}
		if a.Status == cpts.AlertOverdue || a.Status == cpts.AlertDueSoon {
			if shown == 0 {
				fmt.Fprintln(e.Out, "   first deadlines needing action:")
			}
			fmt.Fprintf(e.Out, "   %s %-10s %-6s %2d months  %s  %s\n", a.ContractID, a.Mission, a.Kind, a.Months, a.Deadline, a.Status)
			if shown++; shown == 5 {
				break
			}
		}
	}
	fmt.Fprintln(e.Out)
	return nil
}

// demoOneContract shows the audit trail and payments of one contract: the
// earliest-signed one that got the amendment-2 top-up and had an advance
// withheld, or else the earliest.
func oneContract(e *Env, q *query.Ledger, db *projections.DB) error {
	contracts, err := db.Contracts(e.Ctx)
	if err != nil || len(contracts) == 0 {
		return err
	}
	pick := contracts[0]
	var payments []query.Payment
	for _, c := range contracts {
		ps, err := q.Payments(e.Ctx, c.ContractID, query.Window{})
		if err != nil {
			return err
		}
		if payments == nil {
			payments = ps
		}
		topup := slices.ContainsFunc(ps, func(p query.Payment) bool { return p.Kind == cpts.KindAmorcageTopup })
		withheld := slices.ContainsFunc(ps, func(p query.Payment) bool { return p.Status == cpts.StatusWithheld })
		if topup && withheld {
			pick, payments = c, ps
			break
		}
	}
	fmt.Fprintf(e.Out, "== One contract: %s (%s, %s, %s, signed %s)\n", pick.ContractID, pick.CPTSName, pick.Tier, pick.CPAM, pick.SignedOn)
	fmt.Fprintf(e.Out, "-- audit trail (ledger audit --contract %s)\n", pick.ContractID)
	trail, err := q.Audit(e.Ctx, pick.ContractID, query.Window{})
	if err != nil {
		return err
	}
	if err := textout.Audit(e.Out, trail.Events); err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "   hash chain: %s\n", map[bool]string{true: "verified", false: "BROKEN: " + trail.Problem}[trail.ChainOK])
	fmt.Fprintf(e.Out, "-- payments (ledger payments --contract %s)\n", pick.ContractID)
	return textout.Payments(e.Out, payments)
}

// submitParallel submits lines with several workers; each contract's
// commands go to one worker, in order, so the result is the same as one by
// one, and concurrent appends share fsyncs (group commit). A command of
// the reference streams (an amendment, a crisis recognition) concerns
// every contract: the lines before it are all submitted first, then it
// alone, so that every decision sees it exactly when it would one by one.
// lanes say which worker's lane a command goes to: its contract's, so that
// a contract's commands stay in order; a letter of intent goes to the lane
// of the contract that follows it (its signature names the letter), so
// that it is validated before that signature.
type lanes map[string]string // letter id → the contract that follows it

func lanesOf(lines [][]byte) lanes {
	out := lanes{}
	for _, line := range lines {
		if !bytes.Contains(line, []byte(`"letter_id"`)) {
			continue
		}
		var c struct {
			Type       string `json:"type"`
			ContractID string `json:"contract_id"`
			LetterID   string `json:"letter_id"`
		}
		if json.Unmarshal(line, &c) == nil && c.Type == cpts.CmdSignContract {
			out[c.LetterID] = c.ContractID
		}
	}
	return out
}

func (l lanes) of(line []byte) string {
	h, _ := domain.PeekHeader(line)
	if h.Type != cpts.CmdValidateLetterOfIntent {
		return h.ContractID
	}
	var c struct {
		LetterID string `json:"letter_id"`
	}
	json.Unmarshal(line, &c)
	if contract, ok := l[c.LetterID]; ok {
		return contract
	}
	return c.LetterID
}

func submitParallel(e *Env, ledger *app.Ledger, lines [][]byte, workers int) (events, rejected int, err error) {
	var done, nEvents, nRejected atomic.Int64
	var firstErr error
	var once sync.Once
	submit := func(part [][]byte) {
		for _, line := range part {
			res, err := ledger.Submit(e.Ctx, line)
			if err != nil {
				once.Do(func() { firstErr = err })
				return
			}
			if !res.OK {
				if nRejected.Add(1) <= 3 {
					fmt.Fprintf(e.Err, "   rejected: %s: %s\n", res.CommandID, res.Error.Message)
				}
			}
			nEvents.Add(int64(len(res.Events)))
			done.Add(1)
		}
	}
	lanes := lanesOf(lines)
	segment := func(seg [][]byte) {
		parts := make([][][]byte, workers)
		for _, line := range seg {
			f := fnv.New32a()
			f.Write([]byte(lanes.of(line)))
			w := int(f.Sum32() % uint32(workers))
			parts[w] = append(parts[w], line)
		}
		var wg sync.WaitGroup
		for _, part := range parts {
			wg.Add(1)
			go func() { defer wg.Done(); submit(part) }()
		}
		wg.Wait()
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		start := 0
		for i, line := range lines {
			if h, _ := domain.PeekHeader(line); slices.Contains(cpts.ReferenceCommands(), h.Type) {
				segment(lines[start:i])
				submit(lines[i : i+1])
				start = i + 1
			}
		}
		segment(lines[start:])
	}()
	// A terminal sees the count move; a log file or a pipe gets the final
	// line only, without carriage returns.
	terminal := textout.IsTerminal(e.Err)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			if terminal {
				fmt.Fprint(e.Err, "\r")
			}
			fmt.Fprintf(e.Err, "   100%%  %d/%d commands, %d events\n", done.Load(), len(lines), nEvents.Load())
			return int(nEvents.Load()), int(nRejected.Load()), firstErr
		case <-tick.C:
			if terminal {
				fmt.Fprintf(e.Err, "\r   %3d%%  %d/%d commands, %d events", done.Load()*100/int64(max(len(lines), 1)), done.Load(), len(lines), nEvents.Load())
			}
		}
	}
}

// Env is where the demo writes and what it runs with.
type Env struct {
	Ctx      context.Context
	Out, Err io.Writer
	Schemes  []domain.Scheme
	// Progress, if set, reports a rebuild's progress (a terminal's bar);
	// EndProgress ends its line.
	Progress    func(projections.Progress)
	EndProgress func()
}

// Options are the demo's flags.
type Options struct {
	Seed                             uint64
	Contracts, AidContracts, Workers int
	Today                            domain.Date
	DataDir                          string
}

// Run generates the history, submits it to store, rebuilds models from it,
// reports on them and verifies the log. rejected counts the generated
// commands refused (none, unless the generator or the rules are wrong).
func Run(e *Env, store eventstore.Store, models *projections.Set, o Options) (rejected int, err error) {
	out := e.Out
	fmt.Fprintf(out, "== Generating the national history: %d CPTS and %d medical-assistant aid contracts, seed %d, up to %s\n",
		o.Contracts, o.AidContracts, o.Seed, o.Today)
	lines, generated := gen.National(gen.Options{Seed: o.Seed, Contracts: o.Contracts, Today: o.Today, DecideMonthly: true})
	aid := gen.Aid(gen.AidOptions{Seed: o.Seed, Contracts: o.AidContracts, Today: o.Today, DecideQuarterly: true})
	fmt.Fprintf(out, "   %d CPTS contracts (%d commands, monthly DecideDuePayments) and %d aid commands (quarterly decisions)\n\n",
		len(generated), len(lines), len(aid))
	lines = append(lines, aid...)

	fmt.Fprintf(out, "== Submitting through the command path of `ledger submit` into %s (%d workers, one contract per worker)\n", o.DataDir, o.Workers)
	ledger := app.New(store, app.Options{Actor: "demo", Schemes: e.Schemes, ReplayHistory: true})
	start := time.Now()
	events, rejected, err := submitParallel(e, ledger, lines, o.Workers)
	if err != nil {
		return rejected, err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(out, "   %d commands in %s (%.0f commands/s), %d events appended, %d rejected\n\n",
		len(lines), elapsed.Round(time.Millisecond), float64(len(lines))/elapsed.Seconds(), events, rejected)

	fmt.Fprintln(out, "== Projecting the read models (contracts, payments, balances, deadlines, reports)")
	prog, err := models.Rebuild(e.Ctx, store, projections.BuildOptions{OnProgress: e.Progress})
	if e.EndProgress != nil {
		e.EndProgress()
	}
	if err != nil {
		return rejected, err
	}
	db, release, err := models.Acquire(e.Ctx, store, projections.BuildOptions{})
	if err != nil {
		return rejected, err
	}
	defer release()
	fmt.Fprintf(out, "   %d events applied in %s (%.0f events/s) into %s\n\n", prog.Applied, prog.Elapsed.Round(time.Millisecond), prog.Rate(), models.Link())
	q := query.New(store, models, e.Schemes)
	if err := reports(e, q, db, o.Today); err != nil {
		return rejected, err
	}
	if err := treasury(e, store, q, o); err != nil {
		return rejected, err
	}
	rep, err := eventstore.Verify(e.Ctx, store)
	if err != nil {
		return rejected, err
	}
	fmt.Fprintf(out, "\n== Integrity: %d events in %d streams, every hash chain verified (ledger verify)\n", rep.Events, rep.Streams)
	return rejected, nil
}

// populationBand writes a tier's population range as the table shows it:
// "< 40 000", "40 000 – 79 999", "> 175 000".
func populationBand(t cpts.Tier) string {
	n := func(v int) string {
		return textout.GroupThousands(domain.MustMoney(fmt.Sprint(v)))[:len(textout.GroupThousands(domain.MustMoney(fmt.Sprint(v))))-3]
	}
	switch {
	case t.PopulationMax == nil:
		return "> " + n(t.PopulationMin-1)
	case t.PopulationMin <= 1:
		return "< " + n(*t.PopulationMax+1)
	}
	return n(t.PopulationMin) + " – " + n(*t.PopulationMax)
}
