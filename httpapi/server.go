// Package httpapi serves the ledger over HTTP: the commands of `ledger
// submit` and the queries of the CLI, behind bearer tokens with roles
// (package auth), with errors as RFC 9457 problem details, Prometheus
// metrics and health checks. Handlers only parse and format: the rules are
// in domain, the reads in query, the writes in app — the JSON of a response
// is the CLI's --json output for the same query, encoded by the same
// routine (query.EncodeJSON).
//
// The OpenAPI document of the API is docs/openapi.yaml, served at
// /api/openapi.yaml.
package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/docs"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

// Limits on requests.
const (
	// MaxBody bounds a request body: a file of commands.
	MaxBody = 10 << 20
	// DefaultReadyLag is how many events the read models may be behind the
	// log for /readyz to answer ready.
	DefaultReadyLag = 10_000
)

// Config is what a Server serves.
type Config struct {
	// Replay: the command path replays histories on their own dates (tests
	// of generated histories); a payment run's execution date may then be
	// in the past.
	Replay   bool
	Store    eventstore.Store
	Commands *app.Ledger
	Reads    *query.Ledger
	Models   *projections.Set
	Tokens   *auth.Store
	Logger   *slog.Logger
	// ProjectionLag returns how many events the read models are behind
	// the log (for /readyz and the metrics); nil: caught up on every
	// request (the read side does it anyway).
	ProjectionLag func(context.Context) (int64, error)
	// RelayLag returns how many events are not yet on NATS (metrics); nil
	// when no relay runs.
	RelayLag func(context.Context) (int64, error)
	// ReadyLag bounds ProjectionLag for /readyz (default DefaultReadyLag).
	ReadyLag int64
	// Chain, if set, returns the verdict of the last check of the log's
	// hash chains (for /readyz and the metrics ledger_chain_ok and
	// ledger_chain_last_full_check_timestamp_seconds): whether it found
	// the log whole, and when the whole log was last checked (zero: not
	// yet).
	Chain func() (ok bool, lastFull time.Time)
	// RelayStalled, if set, tells whether the NATS relay has had events
	// waiting without advancing for too long (--max-relay-lag): /readyz is
	// then 503.
	RelayStalled func(context.Context) (bool, error)
	// RelayForeign, if set, counts the foreign messages the relay found in
	// its stream (ledger_relay_foreign_messages_total).
	RelayForeign func() uint64
	// Console, if set, serves every path outside /api/ and the health
	// checks: the web console (package console).
	Console http.Handler
	// Keys, if set, is the key store of the doctors' personal data: the
	// key-reader role reads a key by its id (a NATS consumer that needs
	// the data in clear).
	Keys interface {
		Key(keyID string) ([]byte, error)
	}
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	mux     *http.ServeMux
	// patterns are the routes registered with a method, for the 405s.
	patterns []string
}

// New returns the API over cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReadyLag <= 0 {
		cfg.ReadyLag = DefaultReadyLag
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	s.metrics = newMetrics(cfg)
	s.routes()
	return s
}

// route is one API route: its pattern, the right it needs, the query
// parameters it takes, and its handler.
type route struct {
	pattern string
	right   auth.Right // "" for any identity
	params  []string
	handle  func(w http.ResponseWriter, r *http.Request, id auth.Identity) error
}

func (s *Server) routes() {
	for _, rt := range []route{
		{"POST /api/v1/commands", "", nil, s.postCommands}, // each command's right: auth.CommandRight
		{"GET /api/v1/contracts", auth.ReadContracts, []string{"scheme", "cpam", "ars", "tier", "status", "q", "limit", "cursor"}, s.getContracts},
		{"GET /api/v1/contracts/{id}", auth.ReadContracts, []string{"as_of", "known_at"}, s.getContract},
		{"GET /api/v1/letters/{id}", auth.ReadContracts, []string{"as_of", "known_at"}, s.getLetter},
		{"GET /api/v1/contracts/{id}/payments", auth.ReadFinance, []string{"as_of", "known_at"}, s.getPayments},
		{"GET /api/v1/contracts/{id}/balance", auth.ReadFinance, []string{"as_of", "known_at"}, s.getBalance},
		{"GET /api/v1/contracts/{id}/audit", auth.ReadAudit, []string{"as_of", "known_at"}, s.getAudit},
		{"GET /api/v1/alerts", auth.ReadFinance, []string{"as_of", "known_at", "within", "status", "cpam", "ars"}, s.getAlerts},
		{"GET /api/v1/schedule", auth.ReadFinance, []string{"as_of", "known_at", "within", "cpam"}, s.getSchedule},
		{"GET /api/v1/totals", auth.ReadFinance, []string{"by", "as_of", "known_at"}, s.getTotals},
		{"GET /api/v1/exports/payments.csv", auth.ReadFinance, []string{"sep", "per", "contract", "as_of", "known_at", "bom"}, s.getExport},
		{"GET /api/v1/tokens", auth.Administer, nil, s.getTokens},
		{"POST /api/v1/tokens", auth.Administer, nil, s.postToken},
		{"DELETE /api/v1/tokens/{name}", auth.Administer, nil, s.deleteToken},
		{"POST /api/v1/rebuild", auth.Administer, nil, s.postRebuild},
		{"GET /api/v1/rulebooks", "", []string{"as_of", "known_at"}, s.getRulebooks},
		{"POST /api/v1/rulebooks/amendments", auth.PublishRules, nil, s.postAmendment},
		{"POST /api/v1/payment-runs", auth.Pay, nil, s.postPaymentRun},
		{"GET /api/v1/payment-runs/{run}/pain.001", auth.Pay, nil, s.getRunFile},
		{"POST /api/v1/statements", auth.Pay, nil, s.postStatement},
		{"GET /api/v1/reconciliation", auth.ReadFinance, []string{"month", "cpam", "from", "known_at"}, s.getReconciliation},
		{"GET /api/v1/overpayments", auth.ReadFinance, []string{"contract", "as_of", "known_at"}, s.getOverpayments},
		{"GET /api/v1/personal-keys/{key_id}", auth.ReadKeys, nil, s.getPersonalKey},
	} {
		s.handle(rt.pattern, s.api(rt))
	}
	s.mux.Handle("/api/", s.instrument("/api/", s.api(route{handle: func(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
		return problemf(http.StatusNotFound, CodeNotFound, "no route %s %s (see /api/openapi.yaml)", r.Method, r.URL.Path)
	}})))
	// The API's description is public, like /healthz: a client reads it
	// before it has a token.
	s.handle("GET /api/openapi.yaml", http.HandlerFunc(s.getOpenAPI))
	s.handle("GET /healthz", http.HandlerFunc(s.healthz))
	s.handle("GET /readyz", http.HandlerFunc(s.readyz))
	s.handle("GET /metrics", s.metrics.handler())
	s.methodsNotAllowed()
	if s.cfg.Console != nil {
		s.mux.Handle("/", s.instrument("console", s.cfg.Console))
	} else {
		s.mux.Handle("/", s.instrument("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeProblem(w, problemf(http.StatusNotFound, CodeNotFound, "no route %s %s (see /api/openapi.yaml)", r.Method, r.URL.Path))
		})))
	}
}

// handle registers a route with a method, instrumented.
func (s *Server) handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.instrument(pattern, h))
	s.patterns = append(s.patterns, pattern)
}

// methodsNotAllowed answers a described path asked with another method —
// POST /healthz, PUT /api/v1/contracts — with a 405 problem and the Allow
// header, rather than leaving it to the console (an HTML page) or to the
// API's catch-all (a 404 that says the path does not exist). The mux
// prefers a pattern with a method, so the routes above still answer theirs.
func (s *Server) methodsNotAllowed() {
	allowed := map[string][]string{}
	var paths []string
	for _, pattern := range s.patterns {
		method, path, _ := strings.Cut(pattern, " ")
		if allowed[path] == nil {
			paths = append(paths, path)
		}
		allowed[path] = append(allowed[path], method)
		if method == http.MethodGet {
			allowed[path] = append(allowed[path], http.MethodHead)
		}
	}
	for _, path := range paths {
		allow := strings.Join(allowed[path], ", ")
		s.mux.Handle(path, s.instrument(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeProblem(w, problemf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s takes %s, not %s", r.URL.Path, allow, r.Method))
		})))
	}
}

// Handler returns the API's handler.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			// Served over TLS: browsers keep to HTTPS for a year (the
			// console's session cookie never travels in clear after a first
			// visit).
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		s.mux.ServeHTTP(w, r)
	})
}

// api wraps a route's handler: security headers, authentication, the
// route's right, its query parameters, panics turned into a 500, and the
// handler's error written as a problem.
func (s *Server) api(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic serving a request", "route", rt.pattern, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeProblem(w, problemf(http.StatusInternalServerError, CodeInternal, "internal error"))
			}
		}()
		id, err := s.authenticate(r)
		if err == nil {
			err = authorize(rt, id, r)
		}
		if err == nil {
			err = rt.handle(w, r, id)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	})
}

// authenticate returns the identity of the request's bearer token.
func (s *Server) authenticate(r *http.Request) (auth.Identity, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return auth.Identity{}, problemf(http.StatusUnauthorized, CodeUnauthorized, "an Authorization: Bearer <token> header is required (ledger token create)")
	}
	id, err := s.cfg.Tokens.Authenticate(strings.TrimSpace(token))
	if errors.Is(err, auth.ErrInvalid) {
		return id, problemf(http.StatusUnauthorized, CodeUnauthorized, "the token is unknown or revoked")
	}
	return id, err
}

// authorize checks the route's right and its query parameters.
func authorize(rt route, id auth.Identity, r *http.Request) error {
	if rt.right != "" && !id.Role.Can(rt.right) {
		return problemf(http.StatusForbidden, CodeForbidden, "the role %s may not %s", id.Role, rt.right)
	}
	var vs []string
	var repeated []string
	for name, values := range r.URL.Query() {
		if !slices.Contains(rt.params, name) {
			vs = append(vs, name)
		} else if len(values) > 1 {
			repeated = append(repeated, name)
		}
	}
	slices.Sort(vs)
	slices.Sort(repeated)
	if len(vs) > 0 {
		takes := "none"
		if len(rt.params) > 0 {
			takes = strings.Join(rt.params, ", ")
		}
		p := problemf(http.StatusBadRequest, CodeInvalidParameter, "unknown query parameter(s); this route takes: %s", takes)
		for _, name := range vs {
			p.Violations = append(p.Violations, violation(CodeUnknownParameter, name, "not a parameter of this route"))
		}
		return p
	}
	if len(repeated) > 0 {
		// limit=5&limit=6: which one was meant is not for the server to guess.
		p := problemf(http.StatusBadRequest, CodeInvalidParameter, "query parameter(s) given more than once: %s", strings.Join(repeated, ", "))
		for _, name := range repeated {
			p.Violations = append(p.Violations, violation(CodeInvalidParameter, name, fmt.Sprintf("given %d times; give it once", len(r.URL.Query()[name]))))
		}
		return p
	}
	return nil
}

// Serve serves the API on addr until ctx ends, then shuts down gracefully:
// in-flight requests (a command being made durable) finish first, for up
// to 30 s. With cert and key files it serves HTTPS.
func (s *Server) Serve(ctx context.Context, l net.Listener, certFile, keyFile string) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      10 * time.Minute, // an export of every payment streams for a while
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if certFile != "" {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	done := make(chan error, 1)
	go func() {
		if certFile != "" {
			done <- srv.ServeTLS(l, certFile, keyFile)
		} else {
			done <- srv.Serve(l)
		}
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdown)
	if e := <-done; !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}

func (s *Server) getOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(docs.OpenAPI)
}
