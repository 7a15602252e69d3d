// Package console is the web console of the ledger for auditors and
// finance teams: server-rendered pages (html/template, files embedded, no
// external request, usable without JavaScript), SVG charts drawn on the
// server, French by default and English when the browser asks for it.
// It is served by `ledger serve` on the API's address, signs in with an
// API token, and shows each role what the API lets it read (package auth).
// Like the API, it only parses and formats: the reads are package query's.
package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/query"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Session lifetimes: a session ends after SessionIdle without a request,
// and SessionMax after sign-in in any case.
const (
	SessionIdle = 2 * time.Hour
	SessionMax  = 12 * time.Hour
	cookieName  = "ledger_session"
	loginCookie = "ledger_login" // the login form's CSRF token (double submit)
)

// Checkpoint is the last checkpoint signed, for the dashboard.
type Checkpoint struct {
	Size     int64
	SignedAt time.Time
	KeyName  string
	// LastPosition is the log position of the last event it covers: an
	// event at or before it can be proven in it.
	LastPosition uint64
}

// Config is what the console shows.
type Config struct {
	Reads  *query.Ledger
	Store  eventstore.Store
	Tokens *auth.Store
	Logger *slog.Logger
	// LatestCheckpoint returns the last signed checkpoint (ok false when
	// none was signed); nil when the ledger has no notary.
	LatestCheckpoint func(context.Context) (c Checkpoint, ok bool, err error)
	// ProveEvent returns an inclusion proof of an event in the last signed
	// checkpoint, as `ledger prove --event` writes it; nil: no proofs.
	ProveEvent func(ctx context.Context, event uuid.UUID) ([]byte, error)
	// Now gives the time (default time.Now): sessions expire by it.
	Now func() time.Time
}

// Console serves the pages.
type Console struct {
	cfg   Config
	log   *slog.Logger
	pages map[string]*template.Template
	mux   *http.ServeMux

	mu       sync.Mutex
	sessions map[string]*session
}

type session struct {
	token   string // kept in memory only, to check at each request that it is not revoked
	csrf    string
	started time.Time
	seen    time.Time
}

// New returns the console over cfg.
func New(cfg Config) (*Console, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, log: cfg.Logger, pages: pages, mux: http.NewServeMux(), sessions: map[string]*session{}}
	static, _ := fs.Sub(staticFiles, "static")
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET /login", c.getLogin)
	c.mux.HandleFunc("POST /login", c.postLogin)
	c.mux.HandleFunc("POST /logout", c.postLogout)
	for _, p := range []struct {
		pattern string
		right   auth.Right
		handle  pageFunc
	}{
		{"GET /{$}", auth.ReadFinance, c.dashboard},
		{"GET /contracts", auth.ReadContracts, c.contracts},
		{"GET /contracts/{id}", auth.ReadContracts, c.contract},
		{"GET /contracts/{id}/payments.csv", auth.ReadFinance, c.contractCSV},
		{"GET /contracts/{id}/events/{event}/proof.json", auth.ReadAudit, c.proof},
		{"GET /contracts.csv", auth.ReadContracts, c.contractsCSV},
		{"GET /alerts", auth.ReadFinance, c.alerts},
		{"GET /alerts.csv", auth.ReadFinance, c.alertsCSV},
		{"GET /schedule", auth.ReadFinance, c.schedule},
		{"GET /schedule.csv", auth.ReadFinance, c.scheduleCSV},
		{"GET /reconciliation", auth.ReadFinance, c.reconciliation},
		{"GET /rulebooks", "", c.rulebooks},
	} {
		c.mux.Handle(p.pattern, c.page(p.right, p.handle))
	}
	c.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusNotFound, "error", view{Title: "not_found", Data: errorView{Message: "not_found"}})
	})
	return c, nil
}

// Handler returns the console, with its security headers on every answer.
func (c *Console) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		c.mux.ServeHTTP(w, r)
	})
}

// pageFunc renders a page for a signed-in identity.
type pageFunc func(w http.ResponseWriter, r *http.Request, v *view) error

// page wraps a page: a session is needed (else a redirect to /login), and
// the right (else 403); an error is rendered as a page.
func (c *Console) page(right auth.Right, handle pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, id, ok := c.session(w, r)
		if !ok {
			next := r.URL.RequestURI()
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		v := &view{Lang: langOf(r), Identity: id, CSRF: s.csrf, Path: r.URL.Path}
		if right != "" && !id.Role.Can(right) { // "": every identity
			v.Title, v.Data = "forbidden", errorView{Message: "forbidden"}
			c.render(w, r, http.StatusForbidden, "error", *v)
			return
		}
		if err := handle(w, r, v); err != nil {
			c.fail(w, r, v, err)
		}
	})
}

// fail renders an error page: what the user did wrong with its message,
// an unknown contract as 404, anything else as 500 (logged, not shown).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	var bad badRequest
	var forbidden forbiddenError
	status, msg := http.StatusInternalServerError, "internal"
	switch {
	case errors.As(err, &bad):
		status, msg = http.StatusBadRequest, string(bad)
	case errors.As(err, &forbidden):
		status, msg = http.StatusForbidden, "forbidden"
	case query.IsUnknown(err):
		status, msg = http.StatusNotFound, "not_found"
	case errors.Is(err, context.Canceled):
		return
	default:
		c.log.Error("console page failed", "path", r.URL.Path, "err", err)
	}
	v.Title, v.Data = msg, errorView{Message: msg}
	c.render(w, r, status, "error", *v)
}

type badRequest string

func (b badRequest) Error() string { return string(b) }

type forbiddenError struct{}

func (forbiddenError) Error() string { return "forbidden" }

// session returns the request's session and identity; ok is false when
// there is none, it expired, or its token was revoked meanwhile.
func (c *Console) session(w http.ResponseWriter, r *http.Request) (*session, auth.Identity, bool) {
	cookie, err := r.Cookie(cookieName)
	if err != nil {
		return nil, auth.Identity{}, false
	}
	now := c.cfg.Now()
	c.mu.Lock()
	s, ok := c.sessions[cookie.Value]
	if ok && (now.Sub(s.seen) > SessionIdle || now.Sub(s.started) > SessionMax) {
		delete(c.sessions, cookie.Value)
		ok = false
	}
	if ok {
		s.seen = now
	}
	c.mu.Unlock()
	if !ok {
		return nil, auth.Identity{}, false
	}
	id, err := c.cfg.Tokens.Authenticate(s.token)
	if err != nil {
		c.endSession(w, r)
		return nil, auth.Identity{}, false
	}
	return s, id, true
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

func (c *Console) getLogin(w http.ResponseWriter, r *http.Request) {
	csrf := randomToken()
	c.setCookie(w, r, loginCookie, csrf, 3600)
	c.render(w, r, http.StatusOK, "login", view{Lang: langOf(r), Title: "sign_in", CSRF: csrf,
		Data: loginView{Next: safeNext(r.URL.Query().Get("next"))}})
}

// postLogin signs in with a token (form field token), checked as the API
// checks it; the login form carries a CSRF token that must match its
// cookie.
func (c *Console) postLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	lang := langOf(r)
	cookie, err := r.Cookie(loginCookie)
	if err != nil || r.ParseForm() != nil || !sameToken(cookie.Value, r.PostForm.Get("csrf")) {
		c.render(w, r, http.StatusForbidden, "error", view{Lang: lang, Title: "csrf", Data: errorView{Message: "csrf"}})
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	token := strings.TrimSpace(r.PostForm.Get("token"))
	id, err := c.cfg.Tokens.Authenticate(token)
	if err != nil {
		csrf := randomToken()
		c.setCookie(w, r, loginCookie, csrf, 3600)
		c.render(w, r, http.StatusUnauthorized, "login", view{Lang: lang, Title: "sign_in", CSRF: csrf,
			Data: loginView{Next: next, Failed: true}})
		return
	}
	sid, now := randomToken(), c.cfg.Now()
	c.mu.Lock()
	for k, s := range c.sessions { // forget the expired ones
		if now.Sub(s.seen) > SessionIdle || now.Sub(s.started) > SessionMax {
			delete(c.sessions, k)
		}
	}
	c.sessions[sid] = &session{token: token, csrf: randomToken(), started: now, seen: now}
	c.mu.Unlock()
	c.setCookie(w, r, cookieName, sid, int(SessionMax/time.Second))
	c.setCookie(w, r, loginCookie, "", -1)
	c.log.Info("console sign-in", "name", id.Name, "role", id.Role)
	if next == "/" {
		next = landing(id.Role)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// landing is the first page a role may see: the dashboard, the contracts,
// or (an administrator, who reads no contract) the rulebooks.
func landing(role auth.Role) string {
	switch {
	case role.Can(auth.ReadFinance):
		return "/"
	case role.Can(auth.ReadContracts):
		return "/contracts"
	}
	return "/rulebooks"
}

// postLogout ends the session; the form's CSRF token must be the session's.
func (c *Console) postLogout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	s, _, ok := c.session(w, r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if r.ParseForm() != nil || !sameToken(s.csrf, r.PostForm.Get("csrf")) {
		c.render(w, r, http.StatusForbidden, "error", view{Lang: langOf(r), Title: "csrf", Data: errorView{Message: "csrf"}})
		return
	}
	c.endSession(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (c *Console) endSession(w http.ResponseWriter, r *http.Request) {
	if cookie, err := r.Cookie(cookieName); err == nil {
		c.mu.Lock()
		delete(c.sessions, cookie.Value)
		c.mu.Unlock()
	}
	c.setCookie(w, r, cookieName, "", -1)
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// safeNext keeps a redirect target on this site: a path, not a URL. It is
// judged as a browser will read it: the WHATWG URL parser first strips
// leading and trailing C0 controls and spaces, removes every tab and
// newline, and reads a backslash as a slash ("/\t/evil.example" and
// "/\\evil.example" are "//evil.example" to it, another host). What is left
// must parse with no scheme, no host and no user, start with one slash and
// hold no control character; anything else goes to "/".
func safeNext(next string) string {
	s := strings.TrimFunc(next, func(r rune) bool { return r <= ' ' })
	s = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(s)
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsFunc(s, unicode.IsControl) {
		return "/"
	}
	return s
}

// LatestCheckpointOf reads a notary's last signed checkpoint as the
// console shows it (the LatestCheckpoint of Config).
func LatestCheckpointOf(ctx context.Context, tree *notary.Tree) (Checkpoint, bool, error) {
	st, ok, err := tree.Latest(ctx)
	if err != nil || !ok {
		return Checkpoint{}, ok, err
	}
	last, err := tree.LastCovered(st)
	if err != nil {
		return Checkpoint{}, false, err
	}
	return Checkpoint{Size: st.Size, SignedAt: st.SignedAt, KeyName: st.KeyName, LastPosition: uint64(last)}, true, nil
}
