package console_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/console"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/httpapi"
	"github.com/cptsledger/ledger/internal/fixture"
	"github.com/cptsledger/ledger/internal/gen"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

const (
	t4 = "b1403d63-9020-5a52-918d-759a87fdc616" // a T4 of the worked lifecycles, CPAM Test
	// crisisContract is the T1 of aci-2022 of domain/cpts/testdata/crisis-cpts.jsonl.
	crisisContract = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e81"
	letterContract = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e71" // follows the letter of examples/letter-of-intent.jsonl
	hostile        = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7eff" // a CPTS named <script>alert(1)</script>, CPAM du Loiret
)

// site is the console (with the API, as serve mounts them) over a real
// store holding the worked lifecycles, the aid examples and a CPTS with a
// hostile name, and a token per role.
type site struct {
	t        *testing.T
	srv      *httptest.Server
	cmds     *app.Ledger
	tokens   *auth.Store
	tok      map[string]string
	now      time.Time
	verifier note.Verifier // of the checkpoint signed
}

func newSite(t *testing.T, tlsServer bool, national ...[][]byte) *site {
	t.Helper()
	dir := t.TempDir()
	store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	models := projections.NewSet(dir, nil)
	t.Cleanup(func() { models.Close(); store.Close() })
	cmds := app.New(store, app.Options{ReplayHistory: true, Schemes: fixture.Schemes(), Actor: "seed"})
	fixture.Submit(t, cmds, "cpts", fixture.Lines(t, "../domain/cpts/testdata/aci-lifecycles.jsonl"))
	fixture.Submit(t, cmds, "assistant", fixture.Lines(t, "../domain/assistant/testdata/aid-lifecycles.jsonl"))
	fixture.Submit(t, cmds, "assistant", fixture.Lines(t, "../domain/assistant/testdata/aid-2024-lifecycles.jsonl"))
	sign := fixture.Lines(t, "../examples/t2-contract.jsonl")[0]
	sign = []byte(strings.NewReplacer("0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80", hostile, "CPTS du Val de Loire", "<script>alert(1)</script>", `"t2-sign"`, `"h-sign"`).Replace(string(sign)))
	fixture.Submit(t, cmds, "cpts", [][]byte{sign})
	// A contract of aci-2022 with the crisis mission, an amendment and a
	// crisis recognition, under the embedded rulebooks.
	embeddedRules := app.New(store, app.Options{ReplayHistory: true, Actor: "seed"})
	fixture.Submit(t, embeddedRules, "cpts", fixture.Lines(t, "../domain/cpts/testdata/crisis-cpts.jsonl"))
	fixture.Submit(t, embeddedRules, "cpts", fixture.Lines(t, "../examples/letter-of-intent.jsonl"))
	// T4's beneficiary: an account recorded by one person, confirmed by
	// another, and a change awaiting its second person.
	first := app.New(store, app.Options{ReplayHistory: true, Schemes: fixture.Schemes(), Actor: "sophie"})
	second := app.New(store, app.Options{ReplayHistory: true, Schemes: fixture.Schemes(), Actor: "carole"})
	fixture.Submit(t, first, "cpts", [][]byte{[]byte(`{"type":"RecordBankAccount","command_id":"acct","contract_id":"` + t4 + `","iban":"FR7630006000011234567890189","holder":"CPTS <b>T4</b>","effective_on":"2019-09-01"}`)})
	fixture.Submit(t, second, "cpts", [][]byte{[]byte(`{"type":"ConfirmBankAccount","command_id":"confirm","contract_id":"` + t4 + `","account":"` + domain.EventID("cpts-"+t4, "acct", 0).String() + `"}`)})
	fixture.Submit(t, first, "cpts", [][]byte{[]byte(`{"type":"RecordBankAccount","command_id":"acct-2","contract_id":"` + t4 + `","iban":"DE89370400440532013000","holder":"CPTS T4","effective_on":"2020-01-01"}`)})
	for _, lines := range national { // generated histories: under the embedded rulebooks
		fixture.Submit(t, embeddedRules, "cpts", lines)
	}
	s := &site{t: t, cmds: cmds, tokens: auth.Open(dir), tok: map[string]string{}, now: time.Now()}
	for _, id := range []auth.Identity{{Name: "audrey", Role: auth.Auditor}, {Name: "fanny", Role: auth.Finance},
		{Name: "agnes", Role: auth.Agent}, {Name: "loic", Role: auth.Agent, CPAM: "CPAM du Loiret"}, {Name: "ada", Role: auth.Admin}} {
		if s.tok[id.Name], err = s.tokens.Create(id); err != nil {
			t.Fatal(err)
		}
	}
	// A notary's tree over the log, and a checkpoint signed of it.
	tree, err := notary.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Close() })
	if _, err := tree.CatchUp(context.Background(), store, notary.Hooks{}); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := notary.GenerateKey("console-test")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.Checkpoint(context.Background(), store, notary.WithMemory(signer, filepath.Join(t.TempDir(), "signer.last")), ""); err != nil {
		t.Fatal(err)
	}
	if s.verifier, err = note.NewVerifier(vkey); err != nil {
		t.Fatal(err)
	}
	reads := query.New(store, models, app.DefaultSchemes())
	web, err := console.New(console.Config{Reads: reads, Store: store, Tokens: s.tokens, Now: func() time.Time { return s.now },
		LatestCheckpoint: func(ctx context.Context) (console.Checkpoint, bool, error) {
			return console.LatestCheckpointOf(ctx, tree)
		},
		ProveEvent: func(ctx context.Context, id uuid.UUID) ([]byte, error) { return tree.ProveInLatest(ctx, store, id) }})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Config{Store: store, Commands: cmds, Reads: reads, Models: models, Tokens: s.tokens, Console: web.Handler()})
	if tlsServer {
		s.srv = httptest.NewTLSServer(api.Handler())
	} else {
		s.srv = httptest.NewServer(api.Handler())
	}
	t.Cleanup(s.srv.Close)
	return s
}

// browser is a client with its own cookies that does not follow redirects.
type browser struct {
	s      *site
	client *http.Client
	lang   string
}

func (s *site) browser(lang string) *browser {
	jar, _ := cookiejar.New(nil)
	c := *s.srv.Client() // a copy: each browser its own cookies (the server's client is shared)
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{s: s, client: &c, lang: lang}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values) page {
	b.s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.s.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Header, string(raw)}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, p page) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF field in the page:\n%.300s", p.body)
	}
	return m[1]
}

// signIn signs in as the token named who and returns the page it lands on.
func (b *browser) signIn(who string) page {
	b.s.t.Helper()
	login := b.do("GET", "/login", nil)
	res := b.do("POST", "/login", url.Values{"token": {b.s.tok[who]}, "csrf": {csrfOf(b.s.t, login)}, "next": {"/"}})
	if res.status != http.StatusSeeOther {
		b.s.t.Fatalf("sign-in as %s: %d %.300s", who, res.status, res.body)
	}
	return res
}

// Each page answers each role as the API's roles say; without a session,
// a redirect to the sign-in page.
func TestPagesByRole(t *testing.T) {
	s := newSite(t, false)
	pages := map[string]string{ // path → the right it needs
		"/": "finance", "/contracts": "contracts", "/contracts/" + t4: "contracts", "/contracts/" + t4 + "/payments.csv": "finance",
		"/alerts?status=overdue": "finance", "/schedule?within=400": "finance", "/schedule.csv": "finance",
		"/contracts?q=CPTS&tier=T4&status=live": "contracts",
	}
	may := map[string][]string{"finance": {"audrey", "fanny"}, "contracts": {"audrey", "fanny", "agnes", "loic"}}
	anon := s.browser("")
	for path := range pages {
		p := anon.do("GET", path, nil)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s without a session: %d %s", path, p.status, p.header.Get("Location"))
		}
	}
	for _, who := range []string{"audrey", "fanny", "agnes", "loic", "ada"} {
		b := s.browser("")
		b.signIn(who)
		for path, right := range pages {
			want := http.StatusForbidden
			for _, w := range may[right] {
				if w == who {
					want = http.StatusOK
				}
			}
			if who == "loic" && strings.Contains(path, t4) && want == http.StatusOK {
				want = http.StatusNotFound // a contract of another CPAM: as an unknown one
			}
			if p := b.do("GET", path, nil); p.status != want {
				t.Errorf("GET %s as %s: %d, want %d\n%.300s", path, who, p.status, want, p.body)
			}
		}
	}
}

// Auditors see the timeline; finance teams see the contract without it.
func TestTimelineOnlyForAuditors(t *testing.T) {
	s := newSite(t, false)
	for who, timeline := range map[string]bool{"audrey": true, "fanny": false, "agnes": false} {
		b := s.browser("")
		b.signIn(who)
		p := b.do("GET", "/contracts/"+t4, nil)
		if p.status != 200 || strings.Contains(p.body, `id="timeline"`) != timeline {
			t.Errorf("%s: %d, timeline shown %v", who, p.status, strings.Contains(p.body, `id="timeline"`))
		}
		if who == "agnes" && strings.Contains(p.body, `id="payments"`) {
			t.Error("an agent sees payments")
		}
	}
}

// Security headers on every page; cookies HttpOnly and SameSite=Strict,
// Secure under TLS.
func TestHeadersAndCookies(t *testing.T) {
	for _, tlsServer := range []bool{false, true} {
		s := newSite(t, tlsServer)
		b := s.browser("")
		login := b.do("GET", "/login", nil)
		csp := login.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q", csp)
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
			if login.header.Get(h) != want {
				t.Errorf("%s: %q", h, login.header.Get(h))
			}
		}
		res := b.do("POST", "/login", url.Values{"token": {s.tok["fanny"]}, "csrf": {csrfOf(t, login)}})
		var session *http.Cookie
		for _, c := range (&http.Response{Header: res.header}).Cookies() {
			if c.Name == "ledger_session" {
				session = c
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure != tlsServer || session.Path != "/" {
			t.Errorf("TLS %v: session cookie %+v", tlsServer, session)
		}
		if strings.Contains(res.body, s.tok["fanny"]) || strings.Contains(strings.Join(res.header.Values("Set-Cookie"), ";"), s.tok["fanny"]) {
			t.Error("the token went back to the browser")
		}
		if p := b.do("GET", "/", nil); p.status != 200 || !strings.Contains(p.body, `<link rel="stylesheet" href="/static/console.css">`) || strings.Contains(p.body, "<script") {
			t.Errorf("dashboard: %d, or it carries a script", p.status)
		}
		if p := b.do("GET", "/static/console.css", nil); p.status != 200 || !strings.Contains(p.header.Get("Content-Type"), "text/css") {
			t.Errorf("stylesheet: %d %s", p.status, p.header.Get("Content-Type"))
		}
	}
}

// Forms that change something refuse a missing or wrong CSRF token.
func TestCSRFRefused(t *testing.T) {
	s := newSite(t, false)
	b := s.browser("")
	b.do("GET", "/login", nil)
	if p := b.do("POST", "/login", url.Values{"token": {s.tok["fanny"]}}); p.status != http.StatusForbidden {
		t.Fatalf("sign-in without the form's token: %d", p.status)
	}
	if p := b.do("POST", "/login", url.Values{"token": {s.tok["fanny"]}, "csrf": {"forged"}}); p.status != http.StatusForbidden {
		t.Fatalf("sign-in with a forged token: %d", p.status)
	}
	b.signIn("fanny")
	if p := b.do("POST", "/logout", url.Values{"csrf": {"forged"}}); p.status != http.StatusForbidden {
		t.Fatalf("sign-out with a forged token: %d", p.status)
	}
	home := b.do("GET", "/", nil)
	if home.status != 200 {
		t.Fatalf("the session ended on a forged sign-out: %d", home.status)
	}
	if p := b.do("POST", "/logout", url.Values{"csrf": {csrfOf(t, home)}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.status)
	}
	if p := b.do("GET", "/", nil); p.status != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d", p.status)
	}
}

// Text from the ledger is escaped: a CPTS named <script>… renders as text.
func TestHostileTextIsEscaped(t *testing.T) {
	s := newSite(t, false)
	b := s.browser("")
	b.signIn("audrey")
	for _, path := range []string{"/contracts/" + hostile, "/contracts?q=script"} {
		p := b.do("GET", path, nil)
		if p.status != 200 || strings.Contains(p.body, "<script>alert(1)</script>") || !strings.Contains(p.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: %d; raw script present: %v", path, p.status, strings.Contains(p.body, "<script>alert(1)"))
		}
	}
	// A hostile next= cannot send a signed-in user to another site.
	login := b.do("GET", "/login?next=//evil.example/x", nil)
	if strings.Contains(login.body, "evil.example") {
		t.Error("the sign-in form keeps an off-site next")
	}
}

// A revoked token ends its sessions; an idle or old session ends too.
func TestSessionsEnd(t *testing.T) {
	s := newSite(t, false)
	b := s.browser("")
	b.signIn("fanny")
	if err := s.tokens.Revoke("fanny"); err != nil {
		t.Fatal(err)
	}
	if p := b.do("GET", "/", nil); p.status != http.StatusSeeOther {
		t.Fatalf("with a revoked token: %d", p.status)
	}
	b = s.browser("")
	b.signIn("audrey")
	s.now = s.now.Add(console.SessionIdle + time.Minute)
	if p := b.do("GET", "/", nil); p.status != http.StatusSeeOther {
		t.Fatalf("after %s idle: %d", console.SessionIdle, p.status)
	}
}

// French by default, English when the browser asks; amounts and dates as
// each language writes them.
func TestFrenchAndEnglish(t *testing.T) {
	s := newSite(t, false)
	fr := s.browser("fr-FR,fr;q=0.9")
	fr.signIn("fanny")
	p := fr.do("GET", "/contracts/"+t4, nil)
	if !strings.Contains(p.body, "Se déconnecter") || !strings.Contains(p.body, "90\u202f000,00\u00a0€") || !strings.Contains(p.body, "31/08/2019") || p.header.Get("Content-Language") != "fr" {
		t.Errorf("French page: %.200s", p.body)
	}
	en := s.browser("en-GB,en;q=0.9,fr;q=0.5")
	en.signIn("fanny")
	p = en.do("GET", "/contracts/"+t4, nil)
	if !strings.Contains(p.body, "Sign out") || !strings.Contains(p.body, "€90,000.00") || !strings.Contains(p.body, "2019-08-31") || p.header.Get("Content-Language") != "en" {
		t.Errorf("English page: %.200s", p.body)
	}
	if p := s.browser("de-DE").do("GET", "/login", nil); !strings.Contains(p.body, "Connexion") {
		t.Error("a German browser does not get French")
	}
}

// An auditor downloads an inclusion proof of an event of the timeline, and
// it verifies offline against the signed checkpoint.
func TestProofDownload(t *testing.T) {
	s := newSite(t, false)
	b := s.browser("")
	b.signIn("audrey")
	p := b.do("GET", "/contracts/"+t4, nil)
	link := regexp.MustCompile(`href="(/contracts/` + t4 + `/events/([0-9a-f-]{36})/proof.json)"`).FindStringSubmatch(p.body)
	if link == nil {
		t.Fatalf("no proof link on the contract page")
	}
	if !strings.Contains(b.do("GET", "/", nil).body, "console-test") {
		t.Error("the dashboard does not name the checkpoint's key")
	}
	proof := b.do("GET", link[1], nil)
	if proof.status != 200 || proof.header.Get("Content-Type") != "application/json" {
		t.Fatalf("proof: %d %s", proof.status, proof.body)
	}
	if _, err := notary.VerifyProof([]byte(proof.body), s.verifier); err != nil || !strings.Contains(proof.body, link[2]) {
		t.Fatalf("the downloaded proof does not verify: %v\n%s", err, proof.body)
	}
	fanny := s.browser("")
	fanny.signIn("fanny")
	if p := fanny.do("GET", link[1], nil); p.status != http.StatusForbidden {
		t.Fatalf("a finance analyst downloads a proof: %d", p.status)
	}

	// An event recorded after the last checkpoint has no proof link: it
	// says so instead of leading to an error.
	fixture.Submit(t, s.cmds, "cpts", [][]byte{[]byte(`{"type":"TerminateContract","command_id":"after-cp","contract_id":"` + hostile +
		`","terminated_on":"2024-01-31","reason":"moved"}`)})
	p = b.do("GET", "/contracts/"+hostile, nil)
	rows := regexp.MustCompile(`(?s)<tr id="event-([0-9a-f-]{36})">.*?</tr>`).FindAllStringSubmatch(p.body, -1)
	if len(rows) < 2 {
		t.Fatalf("%d events in the timeline (%d)", len(rows), p.status)
	}
	last := rows[len(rows)-1]
	if strings.Contains(last[0], "proof.json") || !strings.Contains(last[0], "après le dernier point de contrôle") {
		t.Fatalf("the event after the checkpoint:\n%s", last[0])
	}
	if !strings.Contains(rows[0][0], "/events/"+rows[0][1]+"/proof.json") {
		t.Fatalf("the signature, inside the checkpoint, has no proof link:\n%s", rows[0][0])
	}
}

// French pages speak French: no word of the English catalogue that French
// does not share, no ISO date outside a <time datetime> attribute (the
// JSON of an event, in its details, is data: <pre> and <code> are left
// out, as is text a person typed, marked typed), as an auditor sees them (every part of every page), over contracts
// with withheld payments, regularisations, corrections and aid.
func TestFrenchPagesSpeakFrench(t *testing.T) {
	s := newSite(t, false)
	b := s.browser("fr")
	b.signIn("audrey")
	english := console.EnglishOnlyWords()
	if len(english) < 50 {
		t.Fatalf("only %d English-only words: the catalogue check would prove little", len(english))
	}
	contracts := map[string]bool{t4: true, "62d9d1a8-f7d5-5f2a-86f7-85bff8cb5437": true}
	list := b.do("GET", "/contracts?limit=50", nil)
	for _, m := range regexp.MustCompile(`href="/contracts/([0-9a-f-]{36})"`).FindAllStringSubmatch(list.body, -1) {
		contracts[m[1]] = true
	}
	pages := []string{"/", "/contracts", "/alerts", "/alerts?status=", "/alerts?status=met", "/schedule?within=3660&as_of=2024-06-30", "/rulebooks",
		"/rulebooks?as_of=2023-07-01", "/contracts/" + crisisContract, "/contracts/" + letterContract,
		"/contracts/0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e70",
		"/contracts/" + t4 + "?as_of=2021-06-30", "/nowhere", "/alerts?page=999"}
	for id := range contracts {
		pages = append(pages, "/contracts/"+id)
	}
	// What a person typed (a reason, a name) is shown as typed.
	code := regexp.MustCompile(`(?s)<pre>.*?</pre>|<code>.*?</code>|<span class="typed">.*?</span>`)
	tags := regexp.MustCompile(`(?s)<[^>]*>`)
	iso := regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b|\b\d{4}-\d{2}\b`)
	words := regexp.MustCompile(`\p{L}+`)
	for _, path := range pages {
		p := b.do("GET", path, nil)
		if p.status != 200 && p.status != 404 && p.status != 400 {
			t.Fatalf("GET %s: %d", path, p.status)
		}
		text := html.UnescapeString(tags.ReplaceAllString(code.ReplaceAllString(p.body, " "), " "))
		// Ids are data; they hold digit groups that are not dates.
		text = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`).ReplaceAllString(text, " ")
		if m := iso.FindAllString(text, 5); m != nil {
			t.Errorf("GET %s: ISO dates in the text: %v", path, m)
		}
		var found []string
		for _, w := range words.FindAllString(text, -1) {
			if _, ok := slices.BinarySearch(english, strings.ToLower(w)); ok && !slices.Contains(found, w) {
				found = append(found, w)
			}
		}
		if found != nil {
			t.Errorf("GET %s: English words %v", path, found)
		}
	}
}

// The contract that follows a letter of intent shows the letter and its
// aid, in French, to every role that sees the contract.
func TestContractPageShowsItsLetter(t *testing.T) {
	s := newSite(t, false)
	for _, who := range []string{"audrey", "fanny", "agnes"} {
		b := s.browser("fr")
		b.signIn(who)
		p := b.do("GET", "/contracts/"+letterContract, nil)
		if p.status != 200 || !strings.Contains(p.body, `<h2 id="letter-h">Lettre d&#39;intention</h2>`) ||
			!strings.Contains(p.body, `<dd id="letter-id"><a href="/contracts/0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e70">`) ||
			!strings.Contains(p.body, "<dd id=\"letter-aid\"><span class=\"amount\">17\u202f500,00\u00a0€</span> · <span class=\"badge decided\">décidé</span>") {
			t.Fatalf("%s: the contract's page: %d %.3000s", who, p.status, p.body)
		}
		// The letter's own page, linked from the contract's.
		p = b.do("GET", "/contracts/0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e70", nil)
		if p.status != 200 || !strings.Contains(p.body, `<h1>Lettre d&#39;intention <span id="letter-name">CPTS du Giennois</span></h1>`) ||
			!strings.Contains(p.body, `<dd id="followed-by"><a href="/contracts/`+letterContract+`">`) {
			t.Fatalf("%s: the letter's page: %d %.3000s", who, p.status, p.body)
		}
	}
}

// The rulebooks page shows, to every role, each version's amounts by tier
// (the crisis amounts of T1 published by the amendment, those of T2 not),
// the amendment and the crisis; as of a date before the amendment's
// effect, T1's is not published. The crisis contract's page renders its
// withheld line and its supplement in French.
func TestRulebooksPageAndCrisisLines(t *testing.T) {
	s := newSite(t, false)
	for _, who := range []string{"audrey", "fanny", "agnes", "ada"} {
		b := s.browser("")
		b.signIn(who)
		p := b.do("GET", "/rulebooks", nil)
		if p.status != http.StatusOK {
			t.Fatalf("%s: GET /rulebooks %d", who, p.status)
		}
		if !strings.Contains(p.body, "au <time") || strings.Contains(p.body, "au —") {
			t.Fatalf("%s: the versions' periods in force: an open end shown as a date", who)
		}
		for _, want := range []string{"aci-2022", "non publié", "par l&#39;avenant", "test-t1-crisis", "Crises sanitaires reconnues", "01/10/2022", "31/01/2023", "580\u202f000,00"} {
			if !strings.Contains(p.body, want) {
				t.Fatalf("%s: /rulebooks lacks %q", who, want)
			}
		}
	}
	b := s.browser("")
	b.signIn("audrey")
	// Known at a time before the seed was recorded, nothing is published.
	if p := b.do("GET", "/rulebooks?known_at=2000-01-01T00:00", nil); strings.Contains(p.body, "test-t1-crisis") || !strings.Contains(p.body, "Aucun avenant publié") {
		t.Fatalf("known at 2000: the amendment is shown")
	}
	p := b.do("GET", "/contracts/"+crisisContract, nil)
	for _, want := range []string{"montant non publié", "supplément crise", "Avenant <span class=\"typed\">test-t1-crisis</span>"} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("the crisis contract's page lacks %q", want)
		}
	}
}

// The Échéancier chooses its CPAM from a list; a CPAM typed in the address
// that names nothing is refused with a message, not "nothing falls due";
// the same for the alerts' and the search's filters.
func TestFiltersNameWhatExists(t *testing.T) {
	s := newSite(t, false)
	b := s.browser("fr")
	b.signIn("fanny")
	p := b.do("GET", "/schedule?within=30", nil)
	if p.status != 200 || !strings.Contains(p.body, `<select id="cpam" name="cpam">`) || !strings.Contains(p.body, "<option>CPAM du Loiret</option>") {
		t.Fatalf("the schedule's CPAM list: %d %.2000s", p.status, p.body)
	}
	for _, path := range []string{"/schedule?cpam=Loiret", "/alerts?cpam=Loiret", "/alerts?ars=ARS%20Bretgne", "/contracts?tier=t2"} {
		p := b.do("GET", path, nil)
		if p.status != 400 || !strings.Contains(p.body, "Ce filtre ne nomme rien que le registre connaisse") {
			t.Errorf("GET %s: %d %.600s", path, p.status, p.body)
		}
	}
	p = b.do("GET", "/contracts", nil)
	if !strings.Contains(p.body, "<option>T1</option><option>T2</option><option>T3</option><option>T4</option>") {
		t.Errorf("the tiers of the search: %.3000s", p.body)
	}
}

// Each role lands, after signing in, on a page it may see: an
// administrator (who reads no contract) on the rulebooks, not a 403. The
// deadlines' statuses agree with "échéance" (feminine).
func TestEachRoleLandsOnAPageItSees(t *testing.T) {
	s := newSite(t, false)
	for who, want := range map[string]string{"audrey": "/", "fanny": "/", "agnes": "/contracts", "ada": "/rulebooks"} {
		b := s.browser("fr")
		res := b.signIn(who)
		if got := res.header.Get("Location"); got != want {
			t.Errorf("%s lands on %q, want %q", who, got, want)
		}
		if p := b.do("GET", want, nil); p.status != 200 {
			t.Errorf("%s on %s: %d", who, want, p.status)
		}
	}
	b := s.browser("fr")
	b.signIn("fanny")
	p := b.do("GET", "/alerts?status=", nil)
	for _, w := range []string{"bientôt dû<", "respecté<", "respecté en retard"} {
		if strings.Contains(p.body, w) {
			t.Errorf("the alerts say %q: an échéance is feminine", w)
		}
	}
	if !strings.Contains(p.body, "respectée") {
		t.Errorf("no met deadline shown as respectée")
	}
}

// The downloads of the French console are in French — headers, codes as
// words, JJ/MM/AAAA dates, decimal commas, a byte order mark — while the
// English console keeps the stable machine columns.
func TestFrenchDownloadsSpeakFrench(t *testing.T) {
	s := newSite(t, false)
	fr := s.browser("fr")
	fr.signIn("fanny")
	p := fr.do("GET", "/alerts.csv?status=", nil)
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(p.body, "\ufeff")), "\n")
	if !strings.HasPrefix(p.body, "\ufeff") || lines[0] != "Échéance;Statut;Contrat;Nom;CPAM;ARS;Mission;Nature;Délai (mois)" ||
		!regexp.MustCompile(`^\d{2}/\d{2}/\d{4};(en retard|bientôt due|à venir|respectée|respectée en retard);`).MatchString(lines[1]) {
		t.Fatalf("the French alerts CSV:\n%.600s", p.body)
	}
	p = fr.do("GET", "/schedule.csv?within=3660&as_of=2020-01-01", nil)
	if lines := strings.Split(strings.TrimPrefix(p.body, "\ufeff"), "\n"); !strings.HasPrefix(lines[0], "Échéance;Contrat;Dispositif;Nom;CPAM;Nature;Année du contrat;Mission;Montant (€);Statut;En retard") ||
		!regexp.MustCompile(`;\d+,\d{2};[^;]*;(oui|non)\r?$`).MatchString(lines[1]) {
		t.Fatalf("the French schedule CSV:\n%.600s", p.body)
	}
	en := s.browser("en")
	en.signIn("fanny")
	if p := en.do("GET", "/alerts.csv?status=", nil); !strings.HasPrefix(p.body, "deadline,status,contract_id,") {
		t.Fatalf("the English alerts CSV:\n%.300s", p.body)
	}
}

// The Échéancier comes in pages of 50 items, with their count and the
// previous and next pages; its total and chart are every page's.
func TestScheduleInPages(t *testing.T) {
	lines, _ := gen.National(gen.Options{Seed: 7, Contracts: 80, Today: domain.MustDate("2024-06-30")})
	s := newSite(t, false, lines)
	b := s.browser("fr")
	b.signIn("fanny")
	first := b.do("GET", "/schedule?within=3660&as_of=2024-06-30", nil)
	rows := strings.Count(first.body, `<a href="/contracts/`)
	m := regexp.MustCompile(`(\d+) échéances, page 1 sur (\d+)\.`).FindStringSubmatch(first.body)
	if first.status != 200 || m == nil || rows > 50 || !strings.Contains(first.body, `id="next"`) || strings.Contains(first.body, `id="prev"`) {
		t.Fatalf("page 1: %d, %d rows, count %v", first.status, rows, m)
	}
	total := regexp.MustCompile(`<p class="kpi">Total : <strong>([^<]+)</strong>`).FindStringSubmatch(first.body)
	second := b.do("GET", "/schedule?within=3660&as_of=2024-06-30&page=2", nil)
	if second.status != 200 || !strings.Contains(second.body, `id="prev"`) || !strings.Contains(second.body, "page 2 sur "+m[2]) ||
		total == nil || !strings.Contains(second.body, "<strong>"+total[1]+"</strong>") {
		t.Fatalf("page 2: %d %.400s", second.status, second.body)
	}
	if p := b.do("GET", "/schedule?within=3660&as_of=2024-06-30&page=999", nil); p.status != 400 {
		t.Fatalf("a page past the last: %d", p.status)
	}
}

// The rulebooks page shows each version's source without the project's
// own references to the documents it was given ("(seed 004)").
func TestRulebookSourcesWithoutSeedReferences(t *testing.T) {
	s := newSite(t, false)
	b := s.browser("fr")
	b.signIn("audrey")
	p := b.do("GET", "/rulebooks", nil)
	if p.status != 200 || strings.Contains(p.body, "(seed 0") || !strings.Contains(p.body, "bilan de la négociation; communiqué Uncam") {
		t.Fatalf("the rulebooks page: %d %.3000s", p.status, p.body)
	}
}

// A contract's page shows its bank account masked but for the last four
// characters, holder escaped, and the change awaiting its second person;
// the payments filter by execution status, and refuses a status that is
// none.
func TestContractPageShowsTheAccount(t *testing.T) {
	s := newSite(t, false)
	b := s.browser("fr")
	b.signIn("fanny")
	p := b.do("GET", "/contracts/"+t4, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "FR*********************0189") || strings.Contains(p.body, "FR7630006000011234567890189") ||
		!strings.Contains(p.body, "CPTS &lt;b&gt;T4&lt;/b&gt;") || !strings.Contains(p.body, "confirmé par carole") ||
		!strings.Contains(p.body, "DE****************3000") || !strings.Contains(p.body, "en attente de confirmation par une autre personne") {
		t.Fatalf("the contract page: %d\n%s", p.status, p.body)
	}
	if p := b.do("GET", "/contracts/"+t4+"?execution=paid", nil); p.status != http.StatusOK || strings.Contains(p.body, `<tr id="payment-`) {
		t.Fatalf("no payment is paid, yet the filter shows some: %d", p.status)
	}
	if p := b.do("GET", "/contracts/"+t4+"?execution=decided", nil); p.status != http.StatusOK || !strings.Contains(p.body, `<tr id="payment-`) {
		t.Fatalf("the decided payments: %d", p.status)
	}
	if p := b.do("GET", "/contracts/"+t4+"?execution=lost", nil); p.status != http.StatusBadRequest {
		t.Fatalf("an unknown execution status: %d", p.status)
	}
}

// An aid contract's extension and its commitment to a coordinated practice,
// in French: the added share, the deadline and the day the doctor joined;
// the commitment in the alerts as of a day it was overdue.
func TestAidContractPageShowsExtensionAndCommitment(t *testing.T) {
	s := newSite(t, false)
	b := s.browser("fr")
	b.signIn("fanny")
	p := b.do("GET", "/contracts/0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7ea2", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `<dd id="extension">+1/2 ETP · à partir du <time datetime="2025-10-01">01/10/2025</time></dd>`) ||
		!strings.Contains(p.body, "premier versement de l&#39;extension") {
		t.Fatalf("the extended contract's page: %d\n%s", p.status, p.body)
	}
	p = b.do("GET", "/contracts/0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7ea3", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `engagement à rejoindre un exercice coordonné dans les 24 mois, au plus tard le <time datetime="2022-03-01">01/03/2022</time> · rejoint le <time datetime="2022-05-10">10/05/2022</time>`) {
		t.Fatalf("the committed contract's page: %d\n%s", p.status, p.body)
	}
	p = b.do("GET", "/alerts?as_of=2022-04-01", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "exercice coordonné") || !strings.Contains(p.body, "engagement") {
		t.Fatalf("the alerts as of 2022-04-01: %d\n%s", p.status, p.body)
	}
}

// The month reconciled, for the finance role: every payment due by the
// month's end not paid listed, balanced; an agent may not see it; a month
// or a CPAM that is none is refused.
func TestReconciliationPage(t *testing.T) {
	s := newSite(t, false)
	b := s.browser("fr")
	b.signIn("fanny")
	p := b.do("GET", "/reconciliation?month=2021-01", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="balanced"`) || !strings.Contains(p.body, "Équilibré") || !strings.Contains(p.body, `id="differences"`) {
		t.Fatalf("the reconciliation: %d\n%.2000s", p.status, p.body)
	}
	for path, want := range map[string]int{"/reconciliation?month=2021-13": 400, "/reconciliation?month=2021-01&cpam=Nowhere": 400, "/reconciliation": 200} {
		if p := b.do("GET", path, nil); p.status != want {
			t.Errorf("%s: %d, want %d", path, p.status, want)
		}
	}
	agent := s.browser("fr")
	agent.signIn("agnes")
	if p := agent.do("GET", "/reconciliation?month=2021-01", nil); p.status != http.StatusForbidden {
		t.Fatalf("an agent saw the reconciliation: %d", p.status)
	}
}
