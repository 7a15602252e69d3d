package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
)

// postCommands takes one command (application/json) or JSON lines
// (application/x-ndjson) and answers, for each, the result `ledger submit`
// prints, once its events are durable; the events are recorded with the
// token's name as actor. A single rejected command is a 422 problem with
// the rejection's code and violations. An agent limited to one CPAM may
// only write that CPAM's contracts: if any line names another's, the
// request is refused (403) and nothing is written.
func (s *Server) postCommands(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	if !id.Role.Can(auth.Submit) && !id.Role.Can(auth.Pay) {
		return problemf(http.StatusForbidden, CodeForbidden, "the role %s may not %s", id.Role, auth.Submit)
	}
	media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (media != "application/json" && media != "application/x-ndjson") {
		return problemf(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
			"send one command as application/json, or JSON lines as application/x-ndjson (got %q)", r.Header.Get("Content-Type"))
	}
	limit := int64(MaxBody)
	if media == "application/json" {
		limit = domain.MaxCommandBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		code := CodeBodyTooLarge
		if media == "application/json" {
			code = domain.CodeLineTooLong
		}
		return problemf(http.StatusRequestEntityTooLarge, code, "a body of %s is at most %d bytes", media, limit)
	}
	if err != nil {
		return err
	}
	lines, err := splitLines(body, media == "application/json")
	if err != nil {
		return err
	}
	if err := s.checkCPAM(r, id, lines); err != nil {
		return err
	}
	if err := checkNoAmendment(lines, id, s.cfg.Commands.ConcernsEveryCPAM); err != nil {
		return err
	}
	if media == "application/json" {
		return s.submitOne(w, r, id, lines[0])
	}
	return s.submitLines(w, r, id, lines)
}

// line is one line of a request body (n is 0 for a single command).
type line struct {
	n       int
	text    []byte
	tooLong int
}

// name says which command of the request a message is about: its line in
// JSON lines, or "the command" for one sent alone (n is 0).
func (l line) name() string {
	if l.n == 0 {
		return "the command"
	}
	return fmt.Sprintf("line %d", l.n)
}

// splitLines cuts the body into its non-empty lines (one, the whole body,
// when single).
func splitLines(body []byte, single bool) ([]line, error) {
	if single {
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, problemf(http.StatusBadRequest, domain.CodeMalformedJSON, "the body is empty: send one command object")
		}
		return []line{{n: 0, text: bytes.TrimSpace(body)}}, nil
	}
	var out []line
	err := app.EachLine(bytes.NewReader(body), domain.MaxCommandBytes, func(n int, text []byte, tooLong int) error {
		if len(bytes.TrimSpace(text)) > 0 || tooLong > 0 {
			out = append(out, line{n, bytes.Clone(text), tooLong})
		}
		return nil
	})
	if err == nil && len(out) == 0 {
		err = problemf(http.StatusBadRequest, domain.CodeMalformedJSON, "the body holds no command line")
	}
	return out, err
}

// checkCPAM refuses the request, before any line runs, when the identity
// is an agent limited to one CPAM and a line signs a contract for another
// CPAM (the command itself says so). A line writing an existing contract
// is judged where it is written (app.WithCPAM, under the contract's lock):
// a contract of another CPAM answers as an unknown one.
func (s *Server) checkCPAM(r *http.Request, id auth.Identity, lines []line) error {
	if id.CPAM == "" {
		return nil
	}
	for _, l := range lines {
		if l.tooLong > 0 {
			continue
		}
		if cpam, signs := s.cfg.Commands.SignedCPAM(l.text); signs {
			if !id.Sees(cpam) {
				return problemf(http.StatusForbidden, CodeForbidden, "%s signs a contract (or validates a letter of intent) of %q; %s writes only the contracts of %q: nothing was written",
					l.name(), cpam, id.Name, id.CPAM)
			}
		}
	}
	return nil
}

// checkNoAmendment refuses, before any line runs, a request that holds a
// rulebook amendment: amendments are an administrator's, published at
// POST /api/v1/rulebooks/amendments (an agent's token submits commands);
// and, from an agent limited to one CPAM, a crisis recognition, which
// concerns every CPAM of an ARS.
func checkNoAmendment(lines []line, id auth.Identity, everyCPAM func(typ string) bool) error {
	for _, l := range lines {
		h, err := domain.PeekHeader(l.text)
		switch {
		case err != nil:
		case h.Type == cpts.CmdPublishRulebookAmendment:
			return problemf(http.StatusForbidden, CodeForbidden, "%s publishes a rulebook amendment: an administrator publishes it at POST /api/v1/rulebooks/amendments; nothing was written", l.name())
		case !id.Role.Can(auth.CommandRight(h.Type)):
			return problemf(http.StatusForbidden, CodeForbidden, "%s (%s): the role %s may not %s; nothing was written", l.name(), h.Type, id.Role, auth.CommandRight(h.Type))
		case id.CPAM != "" && everyCPAM(h.Type):
			return problemf(http.StatusForbidden, CodeForbidden, "%s (%s) concerns every CPAM of an ARS; %s writes only the contracts of %q: nothing was written", l.name(), h.Type, id.Name, id.CPAM)
		}
	}
	return nil
}

// postAmendment publishes one rulebook amendment (application/json, a
// PublishRulebookAmendment command): admin only. The answer is the
// command's result once its event is durable; a rejection is a 422 with
// every violation.
func (s *Server) postAmendment(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	if err := requireJSON(r, "the amendment"); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, domain.MaxCommandBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return problemf(http.StatusRequestEntityTooLarge, domain.CodeLineTooLong, "an amendment is at most %d bytes", domain.MaxCommandBytes)
	}
	if err != nil {
		return err
	}
	var compact bytes.Buffer
	if json.Compact(&compact, body) == nil {
		body = compact.Bytes()
	}
	if h, err := domain.PeekHeader(body); err == nil && h.Type != cpts.CmdPublishRulebookAmendment {
		return problemf(http.StatusUnprocessableEntity, domain.CodeUnknownCommand, "type: %q is not %s: this route publishes rulebook amendments only", h.Type, cpts.CmdPublishRulebookAmendment)
	}
	return s.submitOne(w, r, id, line{n: 0, text: body})
}

// unavailable is the problem of a store that failed: its code and a
// sentence, never the store's own message (file paths, SQLite codes), which
// goes to the log.
func (s *Server) unavailable(r *http.Request, err error) *Problem {
	s.log.Error("command failed: the store is unavailable", "path", r.URL.Path, "err", err)
	return problemf(http.StatusServiceUnavailable, CodeUnavailable, "the event store is unavailable; nothing after the last result was written, and submitting again is safe")
}

// submitOne submits a single command.
func (s *Server) submitOne(w http.ResponseWriter, r *http.Request, id auth.Identity, l line) error {
	res, err := s.submit(r, id, l)
	if err != nil {
		return s.unavailable(r, err)
	}
	if !res.OK {
		p := problemf(http.StatusUnprocessableEntity, res.Error.Code, "%s", res.Error.Message)
		p.Violations, p.CommandID = res.Error.Violations, res.CommandID
		return p
	}
	return writeJSON(w, res)
}

// submitLines submits the lines in order and streams a result line for
// each as soon as it is durable. If the store fails, the last line says so
// and nothing after it was applied.
func (s *Server) submitLines(w http.ResponseWriter, r *http.Request, id auth.Identity, lines []line) error {
	w.Header().Set("Content-Type", "application/x-ndjson")
	rc := http.NewResponseController(w)
	for _, l := range lines {
		res, err := s.submit(r, id, l)
		if err != nil {
			p := s.unavailable(r, err)
			res = app.Result{Error: &app.ErrorBody{Code: p.Code, Message: p.Detail}}
		}
		if werr := writeLine(w, res); werr != nil {
			return nil // the client went away; what was acknowledged is durable
		}
		rc.Flush()
		if err != nil {
			return nil
		}
	}
	return nil
}

func writeLine(w io.Writer, res app.Result) error {
	b, err := res.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// submit submits one line as the identity, and counts it.
func (s *Server) submit(r *http.Request, id auth.Identity, l line) (app.Result, error) {
	start := time.Now()
	// The command is made durable even if the client goes away meanwhile:
	// an acknowledgement lost is made good by submitting again.
	ctx := context.WithoutCancel(r.Context())
	if id.CPAM != "" {
		ctx = app.WithCPAM(ctx, id.CPAM)
	}
	var res app.Result
	var err error
	if l.n == 0 {
		res, err = s.cfg.Commands.SubmitAs(ctx, id.Name, l.text) // a single command: no line to name
	} else {
		res, err = s.cfg.Commands.SubmitLine(ctx, id.Name, l.n, l.text, l.tooLong)
	}
	typ := res.Type // from the schemes' list only: what a client types must not make series
	if typ == "" {
		typ = "unknown"
	}
	s.metrics.command(typ, res, err, time.Since(start))
	if err != nil {
		s.log.Error("command failed", "actor", id.Name, "line", l.n, "err", err)
		return res, fmt.Errorf("the store failed (%v): this command and those after it were not applied; submitting them again is safe", err)
	}
	return res, nil
}
