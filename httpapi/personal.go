package httpapi

import (
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/domain"
)

// PersonalKey is a key of a doctor's personal data, for the key-reader
// role: AES-256-GCM, the key id the associated data (domain/personal.go).
type PersonalKey struct {
	KeyID     string `json:"key_id"`
	Algorithm string `json:"algorithm"`
	Key       string `json:"key"`
}

// getPersonalKey answers a key by its id: 410 once destroyed by an
// erasure (the consumer forgets what it opened with it), 404 when the key
// store never held it. The key is a secret: never logged, never cached.
func (s *Server) getPersonalKey(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	id := r.PathValue("key_id")
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return problemf(http.StatusBadRequest, CodeInvalidParameter, "key_id: a key id is a UUID, got %q", id)
	}
	if s.cfg.Keys == nil {
		return problemf(http.StatusNotFound, CodeNotFound, "no key store is served")
	}
	key, err := s.cfg.Keys.Key(id)
	switch {
	case errors.Is(err, domain.ErrErased):
		return problemf(http.StatusGone, CodeKeyErased, "key %s was destroyed by an erasure: forget what it opened", id)
	case errors.Is(err, domain.ErrKeyMissing):
		return problemf(http.StatusNotFound, CodeNotFound, "no key %s in the key store", id)
	case err != nil:
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, PersonalKey{KeyID: id, Algorithm: "AES-256-GCM", Key: base64.StdEncoding.EncodeToString(key)})
}
