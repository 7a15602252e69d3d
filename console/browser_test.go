package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/gen"
)

// chromium returns the browser to drive, or skips the test saying why:
// LEDGER_CHROMIUM, else Debian's chromium (which .ci/run installs).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LEDGER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "no Chromium on this machine (.ci/run installs Debian's chromium; or set LEDGER_CHROMIUM)"
	if os.Getenv("LEDGER_REQUIRE_BROWSER") != "" {
		// CI: a console never driven in a browser is not a green run.
		t.Fatal(why + ": LEDGER_REQUIRE_BROWSER is set, the browser test may not skip")
	}
	t.Skip(why + ": the browser test is skipped")
	return ""
}

// The console end to end in a real headless Chromium: an auditor signs in,
// searches a contract and opens it; the timeline lists its events in
// revision order; the payments' total equals the balance shown; an earlier
// as-of date changes the balance; the payments CSV downloads; the auditor
// signs out. With LEDGER_SCREENSHOTS set to a directory, the test saves the
// dashboard and the contract page there (docs/screenshots holds the ones
// the README shows).
func TestConsoleInABrowser(t *testing.T) {
	exe := chromium(t)
	var national [][][]byte
	if os.Getenv("LEDGER_SCREENSHOTS") != "" {
		// Screenshots for the README show a national history (the demo's),
		// beside the worked examples the test walks through.
		lines, _ := gen.National(gen.Options{Seed: 2019, Contracts: 700, Today: domain.MustDate("2026-11-22"), DecideMonthly: true})
		national = append(national, lines)
	}
	s := newSite(t, false, national...)
	downloads := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("accept-lang", "fr-FR,fr"), chromedp.Flag("lang", "fr-FR"), chromedp.WindowSize(1280, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first action starts the browser, for the life of bctx; the
	// others run under a deadline.
	if err := chromedp.Do(bctx, chromedp.Navigate(s.srv.URL+"/")); err != nil {
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()
	shot := func(name string) {
		dir := os.Getenv("LEDGER_SCREENSHOTS")
		if dir == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()) // the window: what a user sees first
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), png, 0o644)
		}
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
	}
	text := func(id string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
		if err != nil {
			t.Fatalf("text of #%s: %v", id, err)
		}
		return v
	}

	// Redirected to the sign-in page; sign in as an auditor.
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), s.tok["audrey"]),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.ID("total-decided")),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if total := text("total-decided"); !strings.HasSuffix(total, "€") {
		t.Fatalf("dashboard total %q", total)
	}
	unclipped := func(page string, minFont float64) {
		t.Helper()
		bad, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(clipCheck, minFont)))
		if err != nil {
			t.Fatalf("%s: label check: %v", page, err)
		}
		if len(bad) > 0 {
			t.Errorf("%s: chart labels clipped or too small:\n%s", page, strings.Join(bad, "\n"))
		}
	}
	unclipped("dashboard", 9)
	shot("dashboard.png")
	// Labels of 9 px or more, whole, at every width in between (the frame
	// a chart is drawn in changes with the width).
	atWidths := func(page, ready string) {
		t.Helper()
		for _, w := range []int64{800, 1000, 1400} {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, 1000), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID(ready))); err != nil {
				t.Fatal(err)
			}
			unclipped(fmt.Sprintf("%s at %d px", page, w), 9)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1000), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID(ready))); err != nil {
			t.Fatal(err)
		}
	}
	atWidths("dashboard", "total-decided")

	// The alerts to work, by urgency, 50 a page, names linked.
	navigate := func(what string, click chromedp.Action[struct{}]) {
		t.Helper()
		if res, err := chromedp.RunResponse(ctx, click); err != nil || res.Status != 200 {
			t.Fatalf("%s: %v %+v", what, err, res)
		}
	}
	navigate("open the alerts", chromedp.Click(chromedp.CSS(`nav a[href="/alerts"]`)))
	statuses, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#alerts tbody .badge')].map(b => b.classList[1])`))
	if err != nil {
		t.Fatal(err)
	}
	names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#alerts tbody a')].map(a => a.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	rank := map[string]int{"overdue": 0, "due_soon": 1, "pending": 2}
	if len(statuses) == 0 || len(statuses) > 50 || len(names) != len(statuses) {
		t.Fatalf("alerts page: %d rows, %d names", len(statuses), len(names))
	}
	for i, st := range statuses {
		r, ok := rank[st]
		if !ok || (i > 0 && r < rank[statuses[i-1]]) {
			t.Fatalf("alerts not open or not by urgency: %v", statuses)
		}
	}
	shot("alerts.png")

	// Search the contract by name and open it. Each click that loads a
	// page waits for that page (RunResponse): the list of contracts
	// already holds the link before the search, and a node of the page
	// being replaced cannot be clicked.
	link := chromedp.CSS(`#results a[href="/contracts/` + t4 + `"]`)
	navigate("open the contracts", chromedp.Click(chromedp.CSS(`nav a[href="/contracts"]`)))
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("q"), "CPTS 7")); err != nil {
		t.Fatalf("type a search: %v", err)
	}
	navigate("search", chromedp.Click(chromedp.ID("search")))
	navigate("open the contract found", chromedp.Click(link))
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("timeline"))); err != nil {
		t.Fatalf("the contract's timeline: %v", err)
	}
	revisions, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#timeline tbody td.rev')].map(td => td.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if who := text("who"); who != "audrey" || len(revisions) < 10 {
		t.Fatalf("signed in as %q; %d events in the timeline", who, len(revisions))
	}
	for i, r := range revisions {
		if r != strconv.Itoa(i) {
			t.Fatalf("timeline row %d is revision %s: not in revision order (%v)", i, r, revisions)
		}
	}
	paymentsTotal, balanceTotal := text("payments-total"), text("balance-total")
	if paymentsTotal == "" || paymentsTotal != balanceTotal {
		t.Fatalf("payments total %q, balance %q", paymentsTotal, balanceTotal)
	}
	unclipped("contract", 9)
	shot("contract.png")
	atWidths("contract", "payments")

	// At 400 px: the narrow charts, legible (labels of 10 px or more) and
	// whole; the page does not scroll sideways (its tables stack), and
	// the first payment's amount is on screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(400, 900), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("payments"))); err != nil {
		t.Fatal(err)
	}
	unclipped("contract at 400 px", 10)
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`))
	if err != nil || overflow {
		t.Errorf("the contract page scrolls sideways at 400 px (%v)", err)
	}
	amountVisible, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const c = document.querySelector('#payments tbody td.amount'); const r = c.getBoundingClientRect(); return r.right <= window.innerWidth; })()`))
	if err != nil || !amountVisible {
		t.Errorf("at 400 px the first payment's amount is off-screen (%v)", err)
	}
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.ID("payments-h"))); err != nil {
		t.Fatal(err)
	}
	shot("contract-400.png")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1000), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("payments"))); err != nil {
		t.Fatal(err)
	}

	// An earlier as-of date: the balance changes, and still equals the
	// payments shown.
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("as_of"), "2020-12-31")); err != nil {
		t.Fatal(err)
	}
	if res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("apply"))); err != nil || res.Status != 200 ||
		!strings.Contains(res.URL, "as_of=2020-12-31") {
		t.Fatalf("as of an earlier date: %v %+v", err, res)
	}
	earlierPayments, earlierBalance := text("payments-total"), text("balance-total")
	if earlierBalance == balanceTotal || earlierBalance != earlierPayments {
		t.Fatalf("as of 2020-12-31: balance %q (was %q), payments %q", earlierBalance, balanceTotal, earlierPayments)
	}

	// The payments CSV downloads (French: ';' and decimal commas).
	progress := chromedp.Events(ctx, cdpbrowser.DownloadProgress)
	if err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			events := true
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &events})
			return err
		}),
		chromedp.Click(chromedp.ID("csv")),
	); err != nil {
		t.Fatalf("download: %v", err)
	}
	var csv []byte
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCanceled {
			t.Fatal("download canceled")
		}
		if ev.State == cdpbrowser.DownloadProgressStateCompleted {
			if csv, err = os.ReadFile(filepath.Join(downloads, ev.GUID)); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	// French spreadsheets need the byte order mark to read UTF-8.
	if !strings.HasPrefix(string(csv), "\ufeff") {
		t.Fatalf("the French CSV has no UTF-8 BOM: %q", csv[:min(20, len(csv))])
	}
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(csv), "\ufeff")), "\n")
	// In French: the headers and the codes in words, dates JJ/MM/AAAA,
	// decimal commas.
	if !strings.HasPrefix(lines[0], "Contrat;Dispositif;Bénéficiaire;") || len(lines) < 2 ||
		!slices.ContainsFunc(lines[1:], func(l string) bool {
			return strings.HasPrefix(l, t4+";CPTS;") && strings.Contains(l, ";versement à la signature;1;31/08/2019;01/10/2019;décidé;") && strings.HasSuffix(l, ";90000,00;90000,00;décidé")
		}) {
		t.Fatalf("downloaded CSV:\n%s", csv)
	}

	// The rulebooks page, reached from the menu: T1's crisis plan published
	// by the amendment, T2's not; at 400 px the menu wraps and the page
	// does not scroll sideways (its tables stack).
	if err := chromedp.Do(ctx, chromedp.Click(`a[href="/rulebooks"]`), chromedp.WaitVisible(chromedp.ID("amendments"))); err != nil {
		t.Fatalf("the rulebooks page: %v", err)
	}
	if body := text("amendments"); !strings.Contains(body, "test-t1-crisis") {
		t.Fatalf("the amendments table: %q", body)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`document.getElementById('version-aci-2022').scrollIntoView()`)); err != nil {
		t.Fatal(err)
	}
	shot("rulebooks.png")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(400, 900), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("amendments"))); err != nil {
		t.Fatal(err)
	}
	if overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`)); err != nil || overflow {
		t.Errorf("the rulebooks page scrolls sideways at 400 px (%v)", err)
	}
	// At 400 px every table stacks: no number is cut at an edge or hidden
	// behind a sideways scroll, on any page with a table.
	for _, page := range []string{"/rulebooks", "/contracts/" + t4, "/contracts", "/alerts", "/schedule", "/reconciliation?month=2021-01"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.srv.URL+page), chromedp.WaitReady("main")); err != nil {
			t.Fatal(err)
		}
		cut, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](numberCheck))
		if err != nil {
			t.Fatalf("%s at 400 px: %v", page, err)
		}
		if len(cut) > 0 {
			t.Errorf("%s at 400 px cuts or hides numbers:\n%s", page, strings.Join(cut, "\n"))
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1000), chromedp.Reload()); err != nil {
		t.Fatal(err)
	}

	// Sign out: the contract is behind the sign-in page again.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("signout")),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.Navigate(s.srv.URL+"/contracts/"+t4),
		chromedp.WaitVisible(chromedp.ID("token")),
	); err != nil {
		t.Fatalf("sign out: %v", err)
	}
}

// numberCheck lists every table box that scrolls sideways and every
// number cell that leaves the window or is wider than its own box (its
// digits cut), with the number's text.
const numberCheck = `(() => {
	const bad = [], width = document.documentElement.clientWidth;
	for (const s of document.querySelectorAll('.scroll')) {
		if (s.scrollWidth > s.clientWidth + 1) bad.push('a table scrolls sideways: ' + (s.querySelector('table').id || 'table') + ' ' + s.scrollWidth + ' > ' + s.clientWidth);
	}
	for (const c of document.querySelectorAll('td.num, th.num')) {
		const r = c.getBoundingClientRect();
		if (r.width === 0) continue; // not shown
		const head = c.closest('thead');
		if (head && head.getBoundingClientRect().width <= 1) continue; // stacked: the headers are for screen readers
		if (r.left < -0.5 || r.right > width + 0.5) bad.push('off-screen: ' + c.textContent.trim() + ' ' + JSON.stringify([r.left, r.right]));
		if (c.scrollWidth > c.clientWidth + 1) bad.push('cut: ' + c.textContent.trim() + ' ' + c.scrollWidth + ' > ' + c.clientWidth);
	}
	return bad;
})()`

// clipCheck lists the text of every chart shown whose box leaves its
// SVG's viewBox, or whose drawn size is under %v px.
const clipCheck = `(() => {
	const bad = [];
	for (const svg of document.querySelectorAll('figure.chart svg')) {
		const r = svg.getBoundingClientRect();
		if (r.width === 0) continue; // the other frame, hidden
		const vb = svg.viewBox.baseVal, scale = r.width / vb.width;
		for (const t of svg.querySelectorAll('text')) {
			const b = t.getBBox();
			if (b.x < vb.x - 0.5 || b.y < vb.y - 0.5 || b.x + b.width > vb.x + vb.width + 0.5 || b.y + b.height > vb.y + vb.height + 0.5)
				bad.push('clipped: ' + t.textContent + ' ' + JSON.stringify([b.x, b.y, b.width, b.height]) + ' in ' + vb.width + 'x' + vb.height);
			const px = parseFloat(getComputedStyle(t).fontSize) * scale;
			if (px < %v) bad.push('too small (' + px.toFixed(1) + ' px): ' + t.textContent);
		}
	}
	return bad;
})()`
