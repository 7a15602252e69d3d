package query

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
)

// Rulebooks is what `ledger rulebooks` and GET /api/v1/rulebooks answer:
// the CPTS rulebook versions with the amounts in force per tier, the
// amendments published, and the crises recognised — as of a date (the
// amendments in effect and the recognitions dated by then) and as known
// at a time (what the ledger had recorded by then).
type Rulebooks struct {
	AsOf domain.Date `json:"as_of,omitzero"`
	// Tiers are the size tiers' codes, in the rulebooks' order: the
	// columns of the amounts.
	Tiers      []string          `json:"tiers"`
	Versions   []RulebookVersion `json:"versions"`
	Amendments []AmendmentView   `json:"amendments"`
	Crises     []CrisisView      `json:"crises"`
}

// RulebookVersion is one rulebook version as the ledger holds it.
type RulebookVersion struct {
	ID              string          `json:"id"`
	Title           string          `json:"title"`
	Source          string          `json:"source"`
	InForceFrom     domain.Date     `json:"in_force_from"`
	InForceTo       domain.Date     `json:"in_force_to,omitzero"`
	Missions        []MissionView   `json:"missions"`
	Amounts         []AmountInForce `json:"amounts"`
	AnnualCaps      []AnnualCap     `json:"annual_caps"`
	Interpretations []string        `json:"interpretations"`
}

// MissionView is a mission of a rulebook and its deadlines (months).
type MissionView struct {
	Code          string      `json:"code"`
	Kind          string      `json:"kind"`
	StartMonths   *int        `json:"start_months"`
	DeployMonths  *int        `json:"deploy_months"`
	DeadlinesFrom domain.Date `json:"deadlines_from,omitzero"`
}

// AmountInForce is one annual amount of a tier, as in force on the date:
// published or not, and the amendment that set it, if one did.
type AmountInForce struct {
	Tier      string               `json:"tier"`
	Mission   string               `json:"mission,omitempty"`
	Component string               `json:"component"`
	Amount    *string              `json:"amount"` // null: not published
	Amendment *domain.AmendmentRef `json:"amendment,omitempty"`
}

// AnnualCap is a tier's cap on a contract year.
type AnnualCap struct {
	Tier   string `json:"tier"`
	Amount string `json:"amount"`
	Source string `json:"source"`
}

// AmendmentView is a published amendment with its envelope.
type AmendmentView struct {
	EventID    uuid.UUID   `json:"event_id"`
	RecordedAt time.Time   `json:"recorded_at"`
	Actor      string      `json:"actor"`
	ID         string      `json:"amendment_id"`
	Amends     string      `json:"amends"`
	Effective  domain.Date `json:"effective_on"`
	Published  domain.Date `json:"published_on"`
	Amounts    []AmountRow `json:"amounts"`
	Retro      bool        `json:"retroactive"`
	Source     string      `json:"source"`
	Reason     string      `json:"reason"`
}

// AmountRow is one amount an amendment sets.
type AmountRow struct {
	Tier      string `json:"tier"`
	Mission   string `json:"mission"`
	Component string `json:"component"`
	Amount    string `json:"amount"`
}

// CrisisView is a crisis recognition as it stands, with its first event.
type CrisisView struct {
	Recognition  uuid.UUID   `json:"recognition"`
	RecordedAt   time.Time   `json:"recorded_at"`
	Actor        string      `json:"actor"`
	ARS          string      `json:"ars"`
	ContractID   *uuid.UUID  `json:"contract_id,omitempty"`
	From         domain.Date `json:"from"`
	To           domain.Date `json:"to,omitzero"`
	Withdrawn    bool        `json:"withdrawn"`
	RecognisedOn domain.Date `json:"recognised_on"`
	// CorrectedOn is the date of the last correction, if any.
	CorrectedOn domain.Date `json:"corrected_on,omitzero"`
	Reason      string      `json:"reason"`
}

// cptsRules returns the CPTS scheme's rulebooks, and the scheme.
func (l *Ledger) cptsRules() (*cpts.Rules, domain.ReferenceFacts, bool) {
	s, ok := l.scheme(cpts.Scheme)
	if !ok {
		return nil, nil, false
	}
	rules, ok := cpts.RulesOf(s)
	rf, facts := s.(domain.ReferenceFacts)
	return rules, rf, ok && facts
}

// Rulebooks returns the rulebook versions, the amendments and the crises
// in the window.
func (l *Ledger) Rulebooks(ctx context.Context, w Window) (Rulebooks, error) {
	if err := l.CheckWindow(w); err != nil {
		return Rulebooks{}, err
	}
	if l.guard != nil {
		if err := l.guard(); err != nil {
			return Rulebooks{}, err
		}
	}
	rules, rf, ok := l.cptsRules()
	if !ok {
		return Rulebooks{}, fmt.Errorf("the ledger serves no CPTS scheme")
	}
	out := Rulebooks{AsOf: w.AsOf, Tiers: rules.TierCodes(), Amendments: []AmendmentView{}, Crises: []CrisisView{}}
	ref := &cpts.Reference{}
	err := l.eachReference(ctx, rf, w, func(env eventstore.Envelope, e domain.Event) error {
		switch e := e.(type) {
		case cpts.RulebookAmendmentPublished:
			out.Amendments = append(out.Amendments, amendmentView(env, e))
		case cpts.CrisisRecognised:
			out.Crises = append(out.Crises, CrisisView{Recognition: env.EventID, RecordedAt: env.RecordedAt, Actor: env.Actor, ARS: e.ARS,
				ContractID: e.ContractID, From: e.From, To: e.To, RecognisedOn: e.RecognisedOn, Reason: e.Reason})
		case cpts.CrisisRecognitionCorrected:
			if i := slices.IndexFunc(out.Crises, func(c CrisisView) bool { return c.Recognition == e.Corrects }); i >= 0 {
				c := &out.Crises[i]
				c.From, c.To, c.Withdrawn, c.CorrectedOn, c.Reason = e.From, e.To, e.Withdrawn, e.CorrectedOn, e.Reason
			}
		}
		return ref.Apply(env.EventID, e)
	})
	if err != nil {
		return Rulebooks{}, err
	}
	for _, rb := range rules.Rulebooks() {
		out.Versions = append(out.Versions, versionView(rules, rb, ref, w.AsOf))
	}
	return out, nil
}

// eachReference reads a scheme's reference streams in order, keeping the events
// of the window: recorded by KnownAt, dated (published, recognised,
// corrected) on or before AsOf.
func (l *Ledger) eachReference(ctx context.Context, rf domain.ReferenceFacts, w Window, fn func(eventstore.Envelope, domain.Event) error) error {
	for _, stream := range rf.ReferenceStreams() {
		err := eventstore.EachInStream(ctx, l.store, stream, func(envs []eventstore.Envelope) error {
			for _, env := range envs {
				if w.Knows() && env.RecordedAt.After(w.KnownAt) {
					return nil
				}
				e, err := rf.DecodeEvent(env.Type, env.SchemaVersion, env.Data)
				if err != nil {
					return fmt.Errorf("%s revision %d: %w", stream, env.Revision, err)
				}
				if !w.AsOf.IsZero() && e.BusinessDate().After(w.AsOf) {
					continue
				}
				if err := fn(env, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func amendmentView(env eventstore.Envelope, e cpts.RulebookAmendmentPublished) AmendmentView {
	rows := make([]AmountRow, len(e.Amounts))
	for i, a := range e.Amounts {
		rows[i] = AmountRow{Tier: a.Tier, Mission: a.Mission, Component: a.Component, Amount: domain.ExactDecimal(a.Amount).Cents().String()}
	}
	return AmendmentView{EventID: env.EventID, RecordedAt: env.RecordedAt, Actor: env.Actor, ID: e.AmendmentID, Amends: e.Amends,
		Effective: e.EffectiveOn, Published: e.PublishedOn, Amounts: rows, Retro: e.Retroactive, Source: e.Source, Reason: e.Reason}
}

// agreementRows are a tier's amounts of the agreement itself under rb in
// force on asOf (operating, and the top-up and letter-of-intent aid where
// rb holds them), each with the amendment that set it, if one did.
func agreementRows(rules *cpts.Rules, rb *cpts.Rulebook, ref *cpts.Reference, tier string, asOf domain.Date) []AmountInForce {
	var out []AmountInForce
	for _, c := range cpts.AgreementComponents() {
		amount, by, ok := ref.AgreementInForce(rules, rb, tier, c, asOf)
		if !ok {
			continue
		}
		s := domain.ExactDecimal(amount).Cents().String()
		row := AmountInForce{Tier: tier, Component: c, Amount: &s}
		if by != nil {
			row.Amendment = &domain.AmendmentRef{EventID: by.EventID, ID: by.AmendmentID}
		}
		out = append(out, row)
	}
	return out
}

// versionView describes a rulebook with its amounts in force on asOf (the
// amendments in effect by then; every amendment when asOf is zero).
func versionView(rules *cpts.Rules, rb *cpts.Rulebook, ref *cpts.Reference, asOf domain.Date) RulebookVersion {
	v := RulebookVersion{ID: rb.ID, Title: rb.Title, Source: rb.Source, InForceFrom: rb.InForce.From, InForceTo: rb.InForce.To,
		Interpretations: rb.Interpretations, Amounts: []AmountInForce{}, AnnualCaps: []AnnualCap{}}
	for _, m := range rb.Missions {
		v.Missions = append(v.Missions, MissionView{Code: m.Code, Kind: m.Kind, StartMonths: m.StartMonths, DeployMonths: m.DeployMonths, DeadlinesFrom: m.DeadlinesFrom})
	}
	for _, t := range rb.Tiers {
		v.Amounts = append(v.Amounts, agreementRows(rules, rb, ref, t.Code, asOf)...)
		for _, m := range rb.Missions {
			a, set := ref.AmountsInForce(rb, t.Code, m.Code, asOf)
			for _, c := range cpts.AmountComponents() {
				amount, published := a.Get(c)
				am, amended := set[c]
				if published && amount.IsZero() && !amended {
					continue // a component the mission does not have
				}
				row := AmountInForce{Tier: t.Code, Mission: m.Code, Component: c}
				if amended {
					row.Amendment = &domain.AmendmentRef{EventID: am.EventID, ID: am.AmendmentID}
				}
				if published {
					s := domain.ExactDecimal(amount).Cents().String()
					row.Amount = &s
				}
				v.Amounts = append(v.Amounts, row)
			}
		}
		if cap, ok := rb.AnnualCap[t.Code]; ok {
			v.AnnualCaps = append(v.AnnualCaps, AnnualCap{Tier: t.Code, Amount: domain.ExactDecimal(cap).Cents().String(), Source: rb.AnnualCapSource})
		}
	}
	return v
}
