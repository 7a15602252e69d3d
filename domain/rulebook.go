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
	// DatesBefore bounds the business dates the scheme judges (exclusive):
	// set on the scheme's latest rulebook, it is the upper end of the
	// scheme's Calendar until a rulebook replaces it.
	DatesBefore Date `json:"dates_before"`
	// RecordingMarginDays bounds how far after the day it is recorded a
	// command may be dated (a decision as of 2099 typed by mistake or on
	// purpose is refused); the scheme's Calendar holds the largest.
	RecordingMarginDays int `json:"recording_margin_days,omitempty"`
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

// Calendar is the span of business dates a scheme judges: from the first
// rulebook's entry into force to a bound held as rulebook data
// (dates_before). A command or a query dated outside it is refused: no
// rule can say what such a date means.
type Calendar struct {
	From   Date // the first day
	Before Date // the day after the last
	// AheadDays bounds a command's business dates after the day it is
	// recorded (0: no bound but Before).
	AheadDays int
}

// Latest returns the latest business date a command recorded on today may
// carry (the day before Before when AheadDays is 0).
func (c Calendar) Latest(today Date) Date {
	last := c.Before.AddDays(-1)
	if c.AheadDays > 0 {
		last = MinDate(last, today.AddDays(c.AheadDays))
	}
	return last
}

// IsZero reports whether c is unset.
func (c Calendar) IsZero() bool { return c.From.IsZero() && c.Before.IsZero() }

// Contains reports whether From <= d < Before.
func (c Calendar) Contains(d Date) bool { return !d.Before(c.From) && d.Before(c.Before) }

// Union returns the span that covers c and o.
func (c Calendar) Union(o Calendar) Calendar {
	if c.IsZero() {
		return o
	}
	if o.IsZero() {
		return c
	}
	return Calendar{From: MinDate(c.From, o.From), Before: MaxDate(c.Before, o.Before), AheadDays: max(c.AheadDays, o.AheadDays)}
}

func (c Calendar) String() string { return c.From.String() + " to " + c.Before.AddDays(-1).String() }

// Rulebook is implemented by each scheme's rulebook type.
type Rulebook interface {
	Info() RulebookInfo
}

// Rulebooks is a set of rulebooks of one scheme, chosen by date.
type Rulebooks[R Rulebook] struct {
	books    []R
	calendar Calendar
}

// Calendar returns the span of dates the rulebooks judge.
func (rs *Rulebooks[R]) Calendar() Calendar { return rs.calendar }

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
	if len(out.books) > 0 {
		out.calendar.From = out.books[0].Info().InForce.From
	}
	for _, b := range out.books {
		out.calendar.Before = MaxDate(out.calendar.Before, b.Info().DatesBefore)
		out.calendar.AheadDays = max(out.calendar.AheadDays, b.Info().RecordingMarginDays)
	}
	if len(out.books) > 0 && !out.calendar.Before.After(out.calendar.From) {
		return nil, fmt.Errorf("rulebooks: no rulebook sets dates_before after %s (the bound of the dates the scheme judges)", out.calendar.From)
	}
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
