package httpapi

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

// TokenInfo is a token as listed: never the token, nor its hash.
type TokenInfo struct {
	auth.Identity
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// NewToken is a token just created: the only time it is shown.
type NewToken struct {
	auth.Identity
	Token string `json:"token"`
}

func (s *Server) getTokens(w http.ResponseWriter, _ *http.Request, _ auth.Identity) error {
	ts, err := s.cfg.Tokens.List()
	if err != nil {
		return err
	}
	out := make([]TokenInfo, len(ts))
	for i, t := range ts {
		out[i] = TokenInfo{Identity: t.Identity, CreatedAt: t.CreatedAt, RevokedAt: t.RevokedAt}
	}
	return writeJSON(w, out)
}

// postToken creates a token from {"name","role","cpam"}; the answer (201)
// holds the token, shown this once.
func (s *Server) postToken(w http.ResponseWriter, r *http.Request, admin auth.Identity) error {
	if err := requireJSON(r, "the identity"); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var id auth.Identity
	if err := decodeStrict(r, &id); err != nil {
		return err
	}
	token, err := s.cfg.Tokens.Create(id)
	if err != nil {
		return problemf(http.StatusUnprocessableEntity, CodeInvalidParameter, "%s", err.Error())
	}
	s.log.Info("token created", "name", id.Name, "role", id.Role, "cpam", id.CPAM, "by", admin.Name)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	return writeJSON(w, NewToken{Identity: id, Token: token})
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request, admin auth.Identity) error {
	name := r.PathValue("name")
	if err := s.cfg.Tokens.Revoke(name); err != nil {
		return problemf(http.StatusNotFound, CodeNotFound, "%s", err.Error())
	}
	s.log.Info("token revoked", "name", name, "by", admin.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// RebuildResult is what a rebuild did.
type RebuildResult struct {
	Applied      uint64  `json:"applied"`
	Position     uint64  `json:"position"`
	ElapsedMS    int64   `json:"elapsed_ms"`
	EventsPerSec float64 `json:"events_per_s"`
}

// postRebuild rebuilds the read models into a new file and switches to it;
// queries keep answering from the old one meanwhile.
func (s *Server) postRebuild(w http.ResponseWriter, r *http.Request, admin auth.Identity) error {
	// The rebuild takes nothing: a body is a mistake of the caller.
	if n, _ := io.ReadFull(http.MaxBytesReader(w, r.Body, 1), make([]byte, 1)); n > 0 || r.ContentLength > 0 {
		return problemf(http.StatusBadRequest, CodeInvalidParameter, "POST /api/v1/rebuild takes no body")
	}
	p, err := s.cfg.Models.Rebuild(context.WithoutCancel(r.Context()), s.cfg.Store, projections.BuildOptions{})
	if err != nil {
		return err
	}
	s.log.Info("read models rebuilt", "by", admin.Name, "events", p.Applied, "elapsed", p.Elapsed)
	return writeJSON(w, RebuildResult{Applied: p.Applied, Position: uint64(p.Position), ElapsedMS: p.Elapsed.Milliseconds(), EventsPerSec: p.Rate()})
}

// Health is what /healthz and /readyz answer.
type Health struct {
	Status        string `json:"status"` // ok, or unavailable
	Head          *int64 `json:"head,omitempty"`
	ProjectionLag *int64 `json:"projection_lag,omitempty"`
	Problem       string `json:"problem,omitempty"`
}

// healthz answers while the process serves.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, Health{Status: "ok"})
}

// readyz answers 200 when the store answers and the read models are
// within ReadyLag events of the log, else 503.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	h := Health{Status: "ok"}
	head, err := s.cfg.Store.Head(ctx)
	if err != nil {
		h.Status, h.Problem = "unavailable", "the event store does not answer"
		s.log.Warn("readyz: store", "err", err)
	} else {
		n := int64(head)
		h.Head = &n
	}
	if err == nil && s.cfg.ProjectionLag != nil {
		lag, lerr := s.cfg.ProjectionLag(ctx)
		switch {
		case lerr != nil:
			h.Status, h.Problem = "unavailable", "the read models do not answer"
			s.log.Warn("readyz: read models", "err", lerr)
		case lag > s.cfg.ReadyLag:
			h.Status, h.Problem = "unavailable", "the read models are behind the log"
			h.ProjectionLag = &lag
		default:
			h.ProjectionLag = &lag
		}
	}
	if s.cfg.RelayStalled != nil {
		stalled, err := s.cfg.RelayStalled(ctx)
		switch {
		case err != nil:
			s.log.Warn("readyz: relay", "err", err)
		case stalled:
			h.Status, h.Problem = "unavailable", "the NATS relay has events waiting and has not advanced for longer than --max-relay-lag"
		}
	}
	if s.cfg.Chain != nil {
		if ok, _ := s.cfg.Chain(); !ok {
			h.Status, h.Problem = "unavailable", "the log failed its hash-chain check: nothing is served from it"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if h.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	query.EncodeJSON(w, h)
}
