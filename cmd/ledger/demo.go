package main

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/dirlock"
	"github.com/cptsledger/ledger/internal/gen"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

// runDemo generates a national history, submits it through the same path
// as `ledger submit`, and reports on it.
func runDemo(e *env, args []string) error {
	f, err := parseDemo(e, args)
	if err != nil {
		return err
	}
	// The demo holds its directory's serve lock for its whole run: no
	// serve starts on a ledger half made, and no second demo removes it.
	lock, err := e.lockDemo()
	if err != nil {
		return err
	}
	defer lock.Release()
	if f.fresh || f.remove {
		if err := e.removeDemo(); err != nil {
			return err
		}
		if f.remove {
			// Nothing left but the lock, held: let it go, then the
			// directory itself (make clean leaves nothing behind).
			lock.Release()
			os.Remove(filepath.Join(e.global.data, "serve.lock"))
			os.Remove(e.global.data)
			return nil
		}
	}
	if err := e.claimForDemo(); err != nil {
		return err
	}
	store, err := e.createStore()
	if err != nil {
		return err
	}
	defer store.Close()
	out := e.stdout
	fmt.Fprintf(out, "== Generating the national history: %d CPTS and %d medical-assistant aid contracts, seed %d, up to %s\n",
		f.contracts, f.aidContracts, f.seed, f.today)
	lines, generated := gen.National(gen.Options{Seed: f.seed, Contracts: f.contracts, Today: f.today, DecideMonthly: true})
	aid := gen.Aid(gen.AidOptions{Seed: f.seed, Contracts: f.aidContracts, Today: f.today, DecideQuarterly: true})
	fmt.Fprintf(out, "   %d CPTS contracts (%d commands, monthly DecideDuePayments) and %d aid commands (quarterly decisions)\n\n",
		len(generated), len(lines), len(aid))
	lines = append(lines, aid...)

	fmt.Fprintf(out, "== Submitting through the command path of `ledger submit` into %s (%d workers, one contract per worker)\n", e.global.data, f.workers)
	ledger := app.New(store, app.Options{Actor: "demo", Schemes: e.schemes, ReplayHistory: true})
	start := time.Now()
	events, rejected, err := submitParallel(e, ledger, lines, f.workers)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(out, "   %d commands in %s (%.0f commands/s), %d events appended, %d rejected\n\n",
		len(lines), elapsed.Round(time.Millisecond), float64(len(lines))/elapsed.Seconds(), events, rejected)

	fmt.Fprintln(out, "== Projecting the read models (contracts, payments, balances, deadlines, reports)")
	models := e.models()
	defer models.Close()
	prog, err := models.Rebuild(e.ctx, store, projections.BuildOptions{OnProgress: progressBar(e, "events")})
	e.endProgress()
	if err != nil {
		return err
	}
	db, release, err := models.Acquire(e.ctx, store, projections.BuildOptions{})
	if err != nil {
		return err
	}
	defer release()
	fmt.Fprintf(out, "   %d events applied in %s (%.0f events/s) into %s\n\n", prog.Applied, prog.Elapsed.Round(time.Millisecond), prog.Rate(), models.Link())
	if err := demoReports(e, query.New(store, models, e.schemes), db, f.today); err != nil {
		return err
	}
	rep, err := eventstore.Verify(e.ctx, store)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n== Integrity: %d events in %d streams, every hash chain verified (ledger verify)\n", rep.Events, rep.Streams)
	if rejected > 0 {
		return failed{fmt.Sprintf("%d generated commands were rejected", rejected)}
	}
	return nil
}

// demoFlags are the demo's flags.
type demoFlags struct {
	seed                             uint64
	contracts, aidContracts, workers int
	today                            domain.Date
	fresh, remove                    bool
}

func parseDemo(e *env, args []string) (*demoFlags, error) {
	f := &demoFlags{}
	fs := e.flags("demo")
	fs.Uint64Var(&f.seed, "seed", 2019, "random seed of the generated history")
	fs.IntVar(&f.contracts, "contracts", 700, "number of CPTS")
	fs.IntVar(&f.aidContracts, "aid-contracts", 7240, "number of medical-assistant aid contracts")
	fs.IntVar(&f.workers, "workers", 8, "commands submitted in parallel (each contract's commands stay in order)")
	todayFlag := fs.String("today", "", "last business date of the history (default today)")
	fs.BoolVar(&f.fresh, "fresh", false, "remove the demo's ledger first (refused while a process holds its directory)")
	fs.BoolVar(&f.remove, "remove", false, "remove the demo's ledger and stop (refused while a process holds its directory)")
	if err := e.parse(fs, args); err != nil {
		return nil, err
	}
	f.today = domain.DateOf(time.Now())
	if *todayFlag != "" {
		d, err := domain.ParseDate(*todayFlag)
		if err != nil {
			return nil, usageError{"--today: " + err.Error()}
		}
		f.today = d
	}
	if f.contracts < 0 || f.contracts > 100_000 || f.aidContracts < 0 || f.aidContracts > 100_000 {
		return nil, usageError{"--contracts and --aid-contracts must be between 0 and 100000"}
	}
	if f.workers < 1 || f.workers > 64 {
		return nil, usageError{"--workers must be between 1 and 64"}
	}
	return f, nil
}

// demoReports prints what the demo shows of the read models: tiers, aid,
// years, alerts and one contract's history.
func demoReports(e *env, q *query.Ledger, db *projections.DB, today domain.Date) error {
	if err := demoTiers(e, db); err != nil {
		return err
	}
	if err := demoAid(e, db); err != nil {
		return err
	}
	if err := demoYears(e, q); err != nil {
		return err
	}
	if err := demoAlerts(e, q, today); err != nil {
		return err
	}
	return demoOneContract(e, q, db)
}

// progressBar reports a runner's progress on standard error, when it is a
// terminal: a log file or a pipe gets no carriage-return frames.
func progressBar(e *env, unit string) func(projections.Progress) {
	if !isTerminal(e.stderr) {
		return nil
	}
	last := time.Time{}
	return func(p projections.Progress) {
		if time.Since(last) < 200*time.Millisecond && p.Position < p.Head {
			return
		}
		e.progressShown = true
		last = time.Now()
		pct := 100.0
		if p.Head > 0 {
			pct = float64(p.Position) * 100 / float64(p.Head)
		}
		const width = 30
		filled := int(pct / 100 * width)
		fmt.Fprintf(e.stderr, "\r   [%s%s] %5.1f%%  %d/%d %s  %.0f/s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
			pct, p.Position, p.Head, unit, p.Rate())
	}
}

func demoTiers(e *env, db *projections.DB) error {
	contracts, err := db.Contracts(e.ctx)
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
	fmt.Fprintln(e.stdout, "== Contracts per tier")
	tw := tabwriter.NewWriter(&trimSpaces{w: e.stdout}, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tier\tpopulation\tcontracts\t")
	for _, t := range []struct{ code, pop string }{{"T1", "< 40 000"}, {"T2", "40 000 – 79 999"}, {"T3", "80 000 – 175 000"}, {"T4", "> 175 000"}} {
		fmt.Fprintf(tw, "%s\t%s\t%d\t\n", t.code, t.pop, count[t.code])
	}
	fmt.Fprintf(tw, "all\t\t%d\t\n", len(contracts))
	tw.Flush()
	fmt.Fprintf(e.stdout, "   %d terminated\n\n", terminated)
	return nil
}

func demoYears(e *env, q *query.Ledger) error {
	totals, err := q.Totals(e.ctx, "scheme", query.Window{})
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
	err = q.Export(e.ctx, query.ExportFilter{PerPayment: true}, query.Window{}, domain.Money.String, func(row []string) error {
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
	crisis, notPublished, err := demoCrisisYears(e, q)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "== Amounts decided per calendar year (generated history), CPTS next to the published national totals, the crisis mission, and the aid")
	tw := tabwriter.NewWriter(&trimSpaces{w: e.stdout}, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "year\tCPTS decided (€)\twithheld advances\tCPTS published (€)\tof which crisis settled (€)\tcrisis lines not published\tassistant aid decided (€)\t")
	for _, y := range years {
		pub := "—"
		for _, p := range cpts.PublishedAmounts() {
			if p.Year == y {
				pub = groupThousands(p.Amount)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%d\t%s\t\n", y, groupThousands(byYear[y][cpts.Scheme]), withheld[y], pub,
			groupThousands(crisis[y]), notPublished[y], groupThousands(byYear[y][assistant.Scheme]))
	}
	tw.Flush()
	fmt.Fprintln(e.stdout, "   crisis settled: the crisis plan and supplements of the balances and regularisations decided in the year (advances are")
	fmt.Fprintln(e.stdout, "   trued up by the balances); not published: crisis lines withheld for want of the tier's amount (ledger rulebooks)")
	fmt.Fprintln(e.stdout)
	return nil
}

// demoCrisisYears sums, per calendar year of decision, the crisis
// mission's lines of the balances and regularisations (what the years
// settled for it), and counts its lines withheld for an amount not
// published (at 0.00).
func demoCrisisYears(e *env, q *query.Ledger) (settled map[int]domain.Money, notPublished map[int]int, err error) {
	settled, notPublished = map[int]domain.Money{}, map[int]int{}
	h := query.ExportHeader(false)
	col := func(name string) int { return slices.Index(h, name) }
	decided, kind, mission, amount := col("decided_on"), col("kind"), col("line_mission"), col("line_amount")
	err = q.Export(e.ctx, query.ExportFilter{}, query.Window{}, domain.Money.String, func(row []string) error {
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

func demoAid(e *env, db *projections.DB) error {
	rows, err := db.SQL().QueryContext(e.ctx, `SELECT rulebook, option, COUNT(*) FROM aid_contracts GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		return err
	}
	defer rows.Close()
	fmt.Fprintln(e.stdout, "== Medical-assistant aid contracts by rulebook and option (FTE share)")
	tw := tabwriter.NewWriter(&trimSpaces{w: e.stdout}, 0, 0, 2, ' ', tabwriter.AlignRight)
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
	fmt.Fprintln(e.stdout)
	return rows.Err()
}

// submitParallel submits lines with several workers; each contract's
// commands go to one worker, in order, so the result is the same as one by
// one, and concurrent appends share fsyncs (group commit). A command of
// the reference streams (an amendment, a crisis recognition) concerns
// every contract: the lines before it are all submitted first, then it
// alone, so that every decision sees it exactly when it would one by one.
func submitParallel(e *env, ledger *app.Ledger, lines [][]byte, workers int) (events, rejected int, err error) {
	var done, nEvents, nRejected atomic.Int64
	var firstErr error
	var once sync.Once
	submit := func(part [][]byte) {
		for _, line := range part {
			res, err := ledger.Submit(e.ctx, line)
			if err != nil {
				once.Do(func() { firstErr = err })
				return
			}
			if !res.OK {
				if nRejected.Add(1) <= 3 {
					fmt.Fprintf(e.stderr, "   rejected: %s: %s\n", res.CommandID, res.Error.Message)
				}
			}
			nEvents.Add(int64(len(res.Events)))
			done.Add(1)
		}
	}
	segment := func(seg [][]byte) {
		parts := make([][][]byte, workers)
		for _, line := range seg {
			h, _ := domain.PeekHeader(line)
			f := fnv.New32a()
			f.Write([]byte(h.ContractID))
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
	terminal := isTerminal(e.stderr)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			if terminal {
				fmt.Fprint(e.stderr, "\r")
			}
			fmt.Fprintf(e.stderr, "   100%%  %d/%d commands, %d events\n", done.Load(), len(lines), nEvents.Load())
			return int(nEvents.Load()), int(nRejected.Load()), firstErr
		case <-tick.C:
			if terminal {
				fmt.Fprintf(e.stderr, "\r   %3d%%  %d/%d commands, %d events", done.Load()*100/int64(max(len(lines), 1)), done.Load(), len(lines), nEvents.Load())
			}
		}
	}
}

// groupThousands writes 1234567.89 as "1 234 567.89".
func groupThousands(m domain.Money) string {
	s := m.String()
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	intPart, frac := s[:len(s)-3], s[len(s)-3:]
	var b []byte
	for i, ch := range []byte(intPart) {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b = append(b, ' ')
		}
		b = append(b, ch)
	}
	if neg {
		return "-" + string(b) + frac
	}
	return string(b) + frac
}

func demoAlerts(e *env, q *query.Ledger, today domain.Date) error {
	alerts, err := q.Alerts(e.ctx, query.Window{AsOf: today}, 60, query.AlertFilter{})
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, a := range alerts {
		count[a.Status]++
	}
	fmt.Fprintf(e.stdout, "== Deadline alerts as of %s (window 60 days; ledger alerts --as-of %s)\n", today, today)
	for _, s := range []string{cpts.AlertOverdue, cpts.AlertDueSoon, cpts.AlertPending, cpts.AlertMetLate, cpts.AlertMet} {
		fmt.Fprintf(e.stdout, "   %-9s %5d\n", s, count[s])
	}
	shown := 0
	for _, a := range alerts {
		if a.Status == cpts.AlertOverdue || a.Status == cpts.AlertDueSoon {
			if shown == 0 {
				fmt.Fprintln(e.stdout, "   first deadlines needing action:")
			}
			fmt.Fprintf(e.stdout, "   %s %-10s %-6s %2d months  %s  %s\n", a.ContractID, a.Mission, a.Kind, a.Months, a.Deadline, a.Status)
			if shown++; shown == 5 {
				break
			}
		}
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// demoOneContract shows the audit trail and payments of one contract: the
// earliest-signed one that got the amendment-2 top-up and had an advance
// withheld, or else the earliest.
func demoOneContract(e *env, q *query.Ledger, db *projections.DB) error {
	contracts, err := db.Contracts(e.ctx)
	if err != nil || len(contracts) == 0 {
		return err
	}
	pick := contracts[0]
	var payments []query.Payment
	for _, c := range contracts {
		ps, err := db.Payments(e.ctx, c.ContractID, query.Window{})
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
	fmt.Fprintf(e.stdout, "== One contract: %s (%s, %s, %s, signed %s)\n", pick.ContractID, pick.CPTSName, pick.Tier, pick.CPAM, pick.SignedOn)
	fmt.Fprintf(e.stdout, "-- audit trail (ledger audit --contract %s)\n", pick.ContractID)
	trail, err := q.Audit(e.ctx, pick.ContractID, query.Window{})
	if err != nil {
		return err
	}
	if err := writeAudit(e.stdout, trail.Events); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "   hash chain: %s\n", map[bool]string{true: "verified", false: "BROKEN: " + trail.Problem}[trail.ChainOK])
	fmt.Fprintf(e.stdout, "-- payments (ledger payments --contract %s)\n", pick.ContractID)
	return writePayments(e.stdout, payments)
}

// endProgress ends the line a progress bar drew, if one did.
func (e *env) endProgress() {
	if e.progressShown {
		fmt.Fprintln(e.stderr)
		e.progressShown = false
	}
}

// isTerminal tells whether a reader or a writer is a terminal.
func isTerminal(rw any) bool {
	f, ok := rw.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// demoMarker, in a data directory, says that the demo made its ledger.
const demoMarker = "DEMO"

// The data directory of real use, and the demo's when --data is not given.
const (
	defaultData = "./data"
	demoData    = "./demo-data"
)

// claimForDemo refuses a data directory that holds a ledger the demo did
// not make (real data must never get fake contracts), and marks a new one
// as the demo's.
func (e *env) claimForDemo() error {
	if e.global.store != "" && e.global.store != "embedded" {
		return failed{"the demo runs on the embedded store only (it would add fake contracts to the server's ledger)"}
	}
	if e.global.data == defaultData && os.Getenv("LEDGER_DATA") == "" {
		// Without --data, the demo's own directory: ./data is where real
		// use keeps its ledger.
		e.global.data = demoData
	}
	marker := filepath.Join(e.global.data, demoMarker)
	if e.requireLedger() == nil {
		if _, err := os.Stat(marker); err != nil {
			return failed{fmt.Sprintf("%s holds a ledger the demo did not make: the demo adds generated contracts, so it runs only on its own (make demo uses ./demo-data)", e.global.data)}
		}
		return nil
	}
	if err := os.MkdirAll(e.global.data, 0o700); err != nil {
		return err
	}
	return os.WriteFile(marker, []byte("a ledger of generated contracts made by ledger demo\n"), 0o600)
}

// lockDemo takes the serve lock of the demo's directory (./demo-data
// unless --data or LEDGER_DATA say otherwise), refusing while a serve or
// another demo holds it.
func (e *env) lockDemo() (*dirlock.Lock, error) {
	if e.global.store != "" && e.global.store != "embedded" {
		return nil, failed{"the demo runs on the embedded store only (it would add fake contracts to the server's ledger)"}
	}
	if e.global.data == defaultData && os.Getenv("LEDGER_DATA") == "" {
		e.global.data = demoData
	}
	lock, err := lockServe(e)
	if err != nil {
		return nil, failed{"the demo changes nothing: " + err.Error()}
	}
	return lock, nil
}

// removeDemo removes the demo's ledger, never one a process holds (the
// caller holds the directory's serve lock: a running serve would otherwise
// keep answering on deleted files and write the old log's events into the
// new read models), and only a directory the demo made (its marker). The
// lock file itself stays.
func (e *env) removeDemo() error {
	dir := e.global.data
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil && slices.ContainsFunc(entries, func(en os.DirEntry) bool { return en.Name() != "serve.lock" }) {
		return failed{fmt.Sprintf("%s holds files the demo did not make (no %s marker): nothing removed", dir, demoMarker)}
	}
	for _, en := range entries {
		if en.Name() == "serve.lock" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, en.Name())); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "removed the demo's ledger in %s\n", dir)
	return nil
}
