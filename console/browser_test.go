package console_test

import (
	"context"
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
	t.Skip("no Chromium on this machine: the browser test is skipped (.ci/run installs Debian's chromium; or set LEDGER_CHROMIUM)")
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
		chromedp.Flag("accept-lang", "fr-FR,fr"), chromedp.WindowSize(1280, 1000))
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
	shot("dashboard.png")

	// Search the contract by name and open it. Each click that loads a
	// page waits for that page (RunResponse): the list of contracts
	// already holds the link before the search, and a node of the page
	// being replaced cannot be clicked.
	link := chromedp.CSS(`#results a[href="/contracts/` + t4 + `"]`)
	navigate := func(what string, click chromedp.Action[struct{}]) {
		t.Helper()
		if res, err := chromedp.RunResponse(ctx, click); err != nil || res.Status != 200 {
			t.Fatalf("%s: %v %+v", what, err, res)
		}
	}
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
	shot("contract.png")

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
	if !strings.HasPrefix(lines[0], "contract_id;scheme;") || len(lines) < 2 || !slices.ContainsFunc(lines[1:], func(l string) bool { return strings.HasPrefix(l, t4+";cpts;") }) {
		t.Fatalf("downloaded CSV:\n%s", csv)
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
