package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// RulebookInfo is what every rulebook states about itself: its id (named by
// every payment decided under it), the scheme, the legal source, and the
// dates it is in force. Rulebooks are data, embedded with go:embed, so that
// an interpretation can be corrected without touching code.
type RulebookInfo struct {
	ID      string `json:"id"`
	Scheme  string `json:"scheme"`
	Title   string `json:"title"`
	Source  string `json:"source"`
	InForce struct {
		From Date `json:"from"`
		// To is the last day in force; zero when open-ended.
		To Date `json:"to"`
	} `json:"in_force"`
}

// InForceOn reports whether the rulebook applies on d.
func (r RulebookInfo) InForceOn(d Date) bool {
	return !d.Before(r.InForce.From) && (r.InForce.To.IsZero() || !d.After(r.InForce.To))
}

// Validate checks the metadata.
func (r RulebookInfo) Validate() error {
	switch {
	case r.ID == "":
		return fmt.Errorf("rulebook without id")
	case r.Scheme == "":
		return fmt.Errorf("rulebook %s: no scheme", r.ID)
	case r.Source == "":
		return fmt.Errorf("rulebook %s: no legal source", r.ID)
	case r.InForce.From.IsZero():
		return fmt.Errorf("rulebook %s: no in_force.from date", r.ID)
	case !r.InForce.To.IsZero() && r.InForce.To.Before(r.InForce.From):
		return fmt.Errorf("rulebook %s: in force to %s before from %s", r.ID, r.InForce.To, r.InForce.From)
	}
	return nil
}

// Rulebook is implemented by each scheme's rulebook type.
type Rulebook interface {
	Info() RulebookInfo
}

// Rulebooks is a set of rulebooks of one scheme, chosen by date.
type Rulebooks[R Rulebook] struct {
	books []R
}

// LoadRulebooks decodes JSON documents into rulebooks, checks that each has
// valid metadata and that no two are in force on the same day, and calls
// check on each (the scheme's own consistency checks).
func LoadRulebooks[R Rulebook](docs [][]byte, check func(R) error) (*Rulebooks[R], error) {
	out := &Rulebooks[R]{}
	for _, doc := range docs {
		var r R
		dec := json.NewDecoder(bytesReader(doc))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("decode rulebook: %w", err)
		}
		if err := r.Info().Validate(); err != nil {
			return nil, err
		}
		if check != nil {
			if err := check(r); err != nil {
				return nil, fmt.Errorf("rulebook %s: %w", r.Info().ID, err)
			}
		}
		out.books = append(out.books, r)
	}
	slices.SortFunc(out.books, func(a, b R) int { return a.Info().InForce.From.Compare(b.Info().InForce.From) })
	for i := 1; i < len(out.books); i++ {
		prev, cur := out.books[i-1].Info(), out.books[i].Info()
		if prev.InForce.To.IsZero() || !prev.InForce.To.Before(cur.InForce.From) {
			return nil, fmt.Errorf("rulebooks %s and %s are in force on the same days", prev.ID, cur.ID)
		}
	}
	return out, nil
}

// InForce returns the rulebook in force on d.
func (rs *Rulebooks[R]) InForce(d Date) (R, bool) {
	for _, r := range rs.books {
		if r.Info().InForceOn(d) {
			return r, true
		}
	}
	var zero R
	return zero, false
}

// ByID returns the rulebook with that id.
func (rs *Rulebooks[R]) ByID(id string) (R, bool) {
	for _, r := range rs.books {
		if r.Info().ID == id {
			return r, true
		}
	}
	var zero R
	return zero, false
}

// All returns the rulebooks in date order.
func (rs *Rulebooks[R]) All() []R { return slices.Clone(rs.books) }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
