package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/chainstatus"
	"github.com/cptsledger/ledger/query"
)

// The API's own problem codes, beside the domain's rejection codes (which a
// rejected command or query parameter carries). Each is documented in
// docs/api.md; TestEveryProblemCodeIsDocumented fails when one is not.
const (
	// CodeUnauthorized: no bearer token, or an unknown or revoked one.
	CodeUnauthorized = "unauthorized"
	// CodeForbidden: the token's role lacks the right, or an agent limited to one CPAM signs a contract of another (a
	// contract of another CPAM is answered to such an agent as an unknown one: 404, contract_not_found).
	CodeForbidden = "forbidden"
	// CodeNotFound: no such route, or no such contract.
	CodeNotFound = "not_found"
	// CodeBodyTooLarge: a request body over its limit.
	CodeBodyTooLarge = "body_too_large"
	// CodeUnsupportedMediaType: a body of another content type than the route takes.
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeInvalidParameter: a query parameter that is unknown or breaks its rule.
	CodeInvalidParameter = "invalid_parameter"
	// CodeInvalidStatement: a bank statement that does not pass the
	// camt.053.001.08 schema, or that the ledger cannot read: nothing was
	// recorded.
	CodeInvalidStatement = "invalid_statement"
	// CodeMethodNotAllowed: a path the API describes, with a method it
	// does not take (the Allow header lists those it does).
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeKeyErased: a key of personal data destroyed by an erasure (410).
	CodeKeyErased = "key_erased"
	// CodeUnknownParameter: a query parameter the route does not take (a violation of invalid_parameter).
	CodeUnknownParameter = "unknown_parameter"
	// CodeUnavailable: the store failed; nothing after the last result was applied, and submitting again is safe.
	CodeUnavailable = "unavailable"
	// CodeInternal: a bug; the request may be retried.
	CodeInternal = "internal"
	// CodeChainBroken: an audit trail whose hash chain does not verify (the events are in the body's problem), or any
	// query while the last check of the log found a chain broken (503: nothing is served from it).
	CodeChainBroken = "chain_broken"
	// CodeChainUnknown: a query before serve's first whole check of the log's hash chains (503: nothing is served
	// from a log no check has passed; a deleted verdict file is unknown, never healthy).
	CodeChainUnknown = "chain_unknown"
	// CodeReadModelsDiffer: a query while ledger verify found the read models different from the log (503, naming the
	// table and the contract; a rebuild makes them again).
	CodeReadModelsDiffer = "read_models_differ"
)

// problemBase is the URI the problem types are relative to.
const problemBase = "https://ledger.cpts.local/problems/"

// Problem is an RFC 9457 problem detail with the ledger's code and
// violations, as `ledger submit` prints them.
type Problem struct {
	Type       string             `json:"type"`
	Title      string             `json:"title"`
	Status     int                `json:"status"`
	Detail     string             `json:"detail"`
	Code       string             `json:"code"`
	Violations []domain.Violation `json:"violations,omitempty"`
	CommandID  string             `json:"command_id,omitempty"`
}

func (p *Problem) Error() string { return p.Detail }

func problemf(status int, code, format string, args ...any) *Problem {
	return &Problem{Type: problemBase + code, Title: http.StatusText(status), Status: status, Detail: fmt.Sprintf(format, args...), Code: code}
}

func violation(code, field, rule string) domain.Violation {
	return domain.Violation{Code: code, Field: field, Rule: rule}
}

// rejected is a problem for a rejection: the domain's code and violations.
func rejected(status int, commandID string, err error) *Problem {
	p := problemf(status, domain.CodeRejected, "%s", err.Error())
	var re *domain.RejectedError
	if errors.As(err, &re) {
		p.Code, p.Violations = re.Code(), re.Violations
	}
	p.Type, p.CommandID = problemBase+p.Code, commandID
	return p
}

// fail writes err as a problem: a *Problem as it is, a rejection as 400,
// an unknown contract as 404, anything else as a 500 whose detail is
// logged, not sent.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	var re *domain.RejectedError
	var mbe *http.MaxBytesError
	var broken *chainstatus.BrokenError
	var unknown *chainstatus.UnknownError
	var differ *chainstatus.ModelsDifferError
	switch {
	case errors.As(err, &p):
	case errors.As(err, &re):
		p = rejected(http.StatusBadRequest, "", err)
	case query.IsUnknown(err):
		p = problemf(http.StatusNotFound, CodeNotFound, "%s", err.Error())
	case errors.As(err, &broken):
		s.log.Error("query refused: the log failed its hash-chain check", "err", err)
		p = problemf(http.StatusServiceUnavailable, CodeChainBroken, "the log failed its hash-chain check at position %d: nothing is served from it until it is whole again", broken.Status.Position)
	case errors.As(err, &unknown):
		s.log.Error("query refused: the log's hash chains have no verdict yet", "err", err)
		p = problemf(http.StatusServiceUnavailable, CodeChainUnknown, "%s", unknown.Error())
	case errors.As(err, &differ):
		s.log.Error("query refused: the read models differ from the log", "err", err)
		p = problemf(http.StatusServiceUnavailable, CodeReadModelsDiffer, "%s", differ.Error())
	case errors.As(err, &mbe):
		p = problemf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "a request body is at most %d bytes", mbe.Limit)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the client went away
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p = problemf(http.StatusInternalServerError, CodeInternal, "internal error; the request may be retried")
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	query.EncodeJSON(w, p)
}

// writeJSON writes v with status 200, as the CLI's --json prints it.
func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return query.EncodeJSON(w, v)
}

// decodeStrict reads one JSON object into v, refusing unknown fields and
// anything after the object.
func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return problemf(http.StatusBadRequest, domain.CodeMalformedJSON, "the body is not the JSON object this route takes: %v", err)
	}
	if dec.More() {
		return problemf(http.StatusBadRequest, domain.CodeMalformedJSON, "the body holds more than one JSON value")
	}
	return nil
}

// requireJSON refuses a body that is not sent as application/json with a
// 415, naming what the route takes.
func requireJSON(r *http.Request, what string) error {
	media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || media != "application/json" {
		return problemf(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "send %s as application/json (got %q)", what, r.Header.Get("Content-Type"))
	}
	return nil
}
