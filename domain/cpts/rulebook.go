package cpts

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"testing/fstest"

	"github.com/cptsledger/ledger/domain"
	"github.com/shopspring/decimal"
)

//go:embed rulebooks/*.json
var rulebookFS embed.FS

// Rulebook holds the figures and calendar of one version of the ACI. Every
// [rule] interpretation of the texts lives here as data.
type Rulebook struct {
	domain.RulebookInfo
	ContractYears    int                    `json:"contract_years"`
	Tiers            []Tier                 `json:"tiers"`
	Missions         []MissionRule          `json:"missions"`
	Amounts          map[string]TierAmounts `json:"amounts"`
	AdvanceRate      decimal.Decimal        `json:"advance_rate"`
	RecoveryKeepRate decimal.Decimal        `json:"recovery_keep_rate"`
	// RecoveryPrescriptionYears: a correction may not recover money
	// decided longer ago (CSS art. L.133-4; an interpretation for ACI sums).
	RecoveryPrescriptionYears int `json:"recovery_prescription_years"`
	// AnnualCap is, by tier, the most a contract year may receive,
	// everything included (domain.md §2.10); a tier without one has none.
	AnnualCap       map[string]decimal.Decimal `json:"annual_cap,omitempty"`
	AnnualCapSource string                     `json:"annual_cap_source,omitempty"`
	// LetterOfIntent is, by tier, the aid paid once the ARS validates a
	// CPTS's letter of intent, before any contract (avenant 2); a version
	// without it has no such aid.
	LetterOfIntent       map[string]decimal.Decimal `json:"letter_of_intent,omitempty"`
	LetterOfIntentSource string                     `json:"letter_of_intent_source,omitempty"`
	Interpretations      []string                   `json:"interpretations"`
}

// Info implements domain.Rulebook.
func (r *Rulebook) Info() domain.RulebookInfo { return r.RulebookInfo }

// Tier is a size tier by population, bounds inclusive.
type Tier struct {
	Code          string `json:"code"`
	PopulationMin int    `json:"population_min"`
	PopulationMax *int   `json:"population_max"`
	Note          string `json:"note"`
}

// MissionRule is a mission and its deadlines in months after signature
// (nil: none).
type MissionRule struct {
	Code         string `json:"code"`
	Kind         string `json:"kind"` // core or optional
	StartMonths  *int   `json:"start_months"`
	DeployMonths *int   `json:"deploy_months"`
	Title        string `json:"title"`
	// DeadlinesFrom: the deadlines count from the later of the signature
	// and this date (the entry into force of the amendment that created the
	// mission); zero: from the signature.
	DeadlinesFrom domain.Date `json:"deadlines_from"`
	// JoinsEarlierContracts: a contract signed under an earlier rulebook
	// takes the mission up by starting it while this rulebook is in force.
	JoinsEarlierContracts bool `json:"joins_earlier_contracts,omitempty"`
}

// TierAmounts are a tier's annual amounts in euros.
type TierAmounts struct {
	Operating decimal.Decimal           `json:"operating"`
	Missions  map[string]MissionAmounts `json:"missions"`
}

// MissionAmounts are a mission's annual amounts. SNPSupplement and
// SNPRegulation exist for access only; both are fixed components.
// CrisisSupplement exists for crisis only: paid once for a contract year in
// which the ARS recognises a crisis. Unpublished lists the components whose
// amount the rulebook does not know (domain.md §2.10): a line that needs
// one is withheld until a rulebook amendment publishes it.
type MissionAmounts struct {
	Fixed            decimal.Decimal `json:"fixed"`
	Variable         decimal.Decimal `json:"variable"`
	SNPSupplement    decimal.Decimal `json:"snp_supplement"`
	SNPRegulation    decimal.Decimal `json:"snp_regulation"`
	CrisisSupplement decimal.Decimal `json:"crisis_supplement"`
	Unpublished      []string        `json:"unpublished,omitempty"`
}

// Amount components a rulebook amendment may set (MissionAmounts' fields).
const (
	ComponentFixed            = "fixed"
	ComponentVariable         = "variable"
	ComponentSNPSupplement    = "snp_supplement"
	ComponentSNPRegulation    = "snp_regulation"
	ComponentCrisisSupplement = "crisis_supplement"
)

// AmountComponents lists the components, in the order lines show them.
func AmountComponents() []string {
	return []string{ComponentFixed, ComponentVariable, ComponentSNPSupplement, ComponentSNPRegulation, ComponentCrisisSupplement}
}

// Get returns a component's amount, and whether it is published.
func (a MissionAmounts) Get(component string) (decimal.Decimal, bool) {
	if slices.Contains(a.Unpublished, component) {
		return decimal.Decimal{}, false
	}
	switch component {
	case ComponentFixed:
		return a.Fixed, true
	case ComponentVariable:
		return a.Variable, true
	case ComponentSNPSupplement:
		return a.SNPSupplement, true
	case ComponentSNPRegulation:
		return a.SNPRegulation, true
	case ComponentCrisisSupplement:
		return a.CrisisSupplement, true
	}
	return decimal.Decimal{}, false
}

// With returns the amounts with a component set (published).
func (a MissionAmounts) With(component string, v decimal.Decimal) MissionAmounts {
	a.Unpublished = slices.DeleteFunc(slices.Clone(a.Unpublished), func(c string) bool { return c == component })
	switch component {
	case ComponentFixed:
		a.Fixed = v
	case ComponentVariable:
		a.Variable = v
	case ComponentSNPSupplement:
		a.SNPSupplement = v
	case ComponentSNPRegulation:
		a.SNPRegulation = v
	case ComponentCrisisSupplement:
		a.CrisisSupplement = v
	}
	return a
}

// Amendment is a later change to a rulebook that creates a one-off payment:
// amendment 2 raised the seed funding of contracts signed by a date.
type Amendment struct {
	domain.RulebookInfo
	Amends           string                 `json:"amends"`
	EffectiveOn      domain.Date            `json:"effective_on"`
	SignedOnOrBefore domain.Date            `json:"signed_on_or_before"`
	SeedFunding      map[string]SeedFunding `json:"seed_funding"`
	// Superseded are the figures the ledger held before the signed
	// text's: the history of the rule, and what the upgrade's correction
	// regularises (SignedFiguresCorrection).
	Superseded      *SupersededFigures `json:"superseded,omitempty"`
	Interpretations []string           `json:"interpretations"`
}

// SupersededFigures are seed funding figures an amendment's data held
// before they were corrected, with their source.
type SupersededFigures struct {
	SeedFundingAfter map[string]decimal.Decimal `json:"seed_funding_after"`
	Source           string                     `json:"source"`
	Note             string                     `json:"note"`
}

// Topup returns the top-up of a tier: the seed funding after, less before.
func (s SeedFunding) Topup() decimal.Decimal { return s.After.Sub(s.Before) }

// SeedFunding is the seed funding of a tier before and after an amendment.
type SeedFunding struct {
	Before decimal.Decimal `json:"before"`
	After  decimal.Decimal `json:"after"`
}

// supersededAfter returns the seed funding after the amendment that the
// ledger held before the signed figure, if the data keeps one.
func (a *Amendment) supersededAfter(tier string) (decimal.Decimal, bool) {
	if a.Superseded == nil {
		return decimal.Decimal{}, false
	}
	v, ok := a.Superseded.SeedFundingAfter[tier]
	return v, ok
}

// TierFor returns the tier of a population.
func (r *Rulebook) TierFor(population int) (Tier, bool) {
	for _, t := range r.Tiers {
		if population >= t.PopulationMin && (t.PopulationMax == nil || population <= *t.PopulationMax) {
			return t, true
		}
	}
	return Tier{}, false
}

// Mission returns the rule of a mission code.
func (r *Rulebook) Mission(code string) (MissionRule, bool) {
	i := slices.IndexFunc(r.Missions, func(m MissionRule) bool { return m.Code == code })
	if i < 0 {
		return MissionRule{}, false
	}
	return r.Missions[i], true
}

// MissionOrder returns the position of a mission in the rulebook, the order
// in which breakdown lines and alerts list missions.
func (r *Rulebook) MissionOrder(code string) int {
	return slices.IndexFunc(r.Missions, func(m MissionRule) bool { return m.Code == code })
}

// HasVariable reports whether a mission has a variable part (paid by
// achievement, measured by indicators): its variable amount is positive in
// some tier. The crisis mission has none.
func (r *Rulebook) HasVariable(mission string) bool {
	for _, a := range r.Amounts {
		if a.Missions[mission].Variable.IsPositive() {
			return true
		}
	}
	return false
}

// Operating returns a tier's annual operating funding.
func (r *Rulebook) Operating(tier string) decimal.Decimal { return r.Amounts[tier].Operating }

// FixedAnnual returns a mission's annual fixed amount for a tier: for access,
// the fixed part plus the SNP supplement, plus the regulation funding when
// the contract organises regulation.
func (r *Rulebook) FixedAnnual(tier, mission string, regulation bool) decimal.Decimal {
	a := r.Amounts[tier].Missions[mission]
	f := a.Fixed.Add(a.SNPSupplement)
	if regulation {
		f = f.Add(a.SNPRegulation)
	}
	return f
}

// VariableAnnual returns a mission's annual variable amount at 100 %
// achievement.
func (r *Rulebook) VariableAnnual(tier, mission string) decimal.Decimal {
	return r.Amounts[tier].Missions[mission].Variable
}

// MaximumPerYear returns the most a contract of that tier can receive in a
// year: operating plus every mission's fixed and variable amounts.
func (r *Rulebook) MaximumPerYear(tier string, regulation bool) decimal.Decimal {
	total := r.Operating(tier)
	for _, m := range r.Missions {
		total = total.Add(r.FixedAnnual(tier, m.Code, regulation)).Add(r.VariableAnnual(tier, m.Code))
	}
	return total
}

func (r *Rulebook) check() error {
	if r.ContractYears <= 0 {
		return fmt.Errorf("contract_years must be positive")
	}
	if len(r.Tiers) == 0 || len(r.Missions) == 0 {
		return fmt.Errorf("tiers and missions must be listed")
	}
	// Tiers must cover 1.. without gap or overlap.
	next := 1
	for i, t := range r.Tiers {
		if t.PopulationMin != next {
			return fmt.Errorf("tier %s starts at %d, want %d", t.Code, t.PopulationMin, next)
		}
		if t.PopulationMax == nil {
			if i != len(r.Tiers)-1 {
				return fmt.Errorf("tier %s is open-ended but not last", t.Code)
			}
			break
		}
		next = *t.PopulationMax + 1
		if i == len(r.Tiers)-1 {
			return fmt.Errorf("last tier %s must be open-ended", t.Code)
		}
	}
	for _, t := range r.Tiers {
		a, ok := r.Amounts[t.Code]
		if !ok || !a.Operating.IsPositive() {
			return fmt.Errorf("tier %s has no operating amount", t.Code)
		}
		for _, m := range r.Missions {
			ma, ok := a.Missions[m.Code]
			fixed, published := ma.Get(ComponentFixed)
			switch {
			case !ok || published && !fixed.IsPositive():
				return fmt.Errorf("tier %s: mission %s has no fixed amount", t.Code, m.Code)
			case ma.Variable.IsNegative() || ma.Variable.IsZero() != !r.HasVariable(m.Code):
				return fmt.Errorf("tier %s: mission %s: a variable amount must be positive in every tier, or 0 in every tier", t.Code, m.Code)
			}
			for _, c := range ma.Unpublished {
				if !slices.Contains(AmountComponents(), c) {
					return fmt.Errorf("tier %s: mission %s: %q is not an amount component (%v)", t.Code, m.Code, c, AmountComponents())
				}
			}
		}
	}
	for tier, cap := range r.AnnualCap {
		if _, ok := r.Amounts[tier]; !ok || !cap.IsPositive() {
			return fmt.Errorf("annual_cap: %s must be a tier with a positive cap", tier)
		}
	}
	if err := r.checkLetterOfIntent(); err != nil {
		return err
	}
	for _, m := range r.Missions {
		if m.Kind != "core" && m.Kind != "optional" {
			return fmt.Errorf("mission %s: kind %q is neither core nor optional", m.Code, m.Kind)
		}
	}
	one := decimal.NewFromInt(1)
	if !r.AdvanceRate.IsPositive() || r.AdvanceRate.GreaterThan(one) || !r.RecoveryKeepRate.IsPositive() || r.RecoveryKeepRate.GreaterThan(one) {
		return fmt.Errorf("advance_rate and recovery_keep_rate must be in (0, 1]")
	}
	return nil
}

// checkLetterOfIntent: a version with a letter-of-intent aid has one,
// positive, per tier, and its source.
func (r *Rulebook) checkLetterOfIntent() error {
	if len(r.LetterOfIntent) == 0 {
		return nil
	}
	for _, t := range r.Tiers {
		if v := r.LetterOfIntent[t.Code]; !v.IsPositive() {
			return fmt.Errorf("letter_of_intent: tier %s needs a positive aid", t.Code)
		}
	}
	if len(r.LetterOfIntent) != len(r.Tiers) || r.LetterOfIntentSource == "" {
		return fmt.Errorf("letter_of_intent: one aid per tier, and its source")
	}
	return nil
}

// Rules is the loaded set of CPTS rulebooks and amendments.
type Rules struct {
	books      *domain.Rulebooks[*Rulebook]
	amendments []*Amendment
}

// Embedded returns the rulebooks embedded in the binary, loaded once when
// the package starts (DefaultRules loads them again, for a caller that
// must own its copy).
func Embedded() *Rules { return defaultRules }

// TierCodes are the size tiers' codes of every rulebook, in the order the
// rulebooks define them (T1 to T4): the one list of them, for whatever
// shows or checks a tier.
func (r *Rules) TierCodes() []string {
	var out []string
	for _, rb := range r.Rulebooks() {
		for _, t := range rb.Tiers {
			if !slices.Contains(out, t.Code) {
				out = append(out, t.Code)
			}
		}
	}
	return out
}

// DefaultRules returns the rulebooks embedded in the binary. It panics if
// they do not load: they are part of the program.
func DefaultRules() *Rules {
	r, err := LoadRules(rulebookFS)
	if err != nil {
		panic(err)
	}
	return r
}

var defaultRules = DefaultRules()

// LoadRules reads every rulebooks/*.json of fsys: documents with an "amends"
// field are amendments, the others rulebooks.
func LoadRules(fsys fs.FS) (*Rules, error) {
	names, err := fs.Glob(fsys, "rulebooks/*.json")
	if err != nil {
		return nil, err
	}
	var books [][]byte
	var amendments []*Amendment
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var probe struct {
			Amends string `json:"amends"`
		}
		if err := json.Unmarshal(b, &probe); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if probe.Amends == "" {
			books = append(books, b)
			continue
		}
		var a Amendment
		if err := json.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := a.RulebookInfo.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		amendments = append(amendments, &a)
	}
	rs, err := domain.LoadRulebooks(books, (*Rulebook).check)
	if err != nil {
		return nil, err
	}
	for _, a := range amendments {
		base, ok := rs.ByID(a.Amends)
		if !ok {
			return nil, fmt.Errorf("amendment %s amends unknown rulebook %s", a.ID, a.Amends)
		}
		for _, t := range base.Tiers {
			sf, ok := a.SeedFunding[t.Code]
			if !ok || !sf.Before.Equal(base.Operating(t.Code)) || !sf.After.GreaterThan(sf.Before) {
				return nil, fmt.Errorf("amendment %s: tier %s seed funding must start from the base operating amount and rise", a.ID, t.Code)
			}
			if old, ok := a.supersededAfter(t.Code); ok && !old.GreaterThan(sf.Before) {
				return nil, fmt.Errorf("amendment %s: tier %s superseded seed funding must rise from the base operating amount", a.ID, t.Code)
			}
		}
	}
	return &Rules{books: rs, amendments: amendments}, nil
}

// InForce returns the rulebook in force on a signature date.
func (r *Rules) InForce(d domain.Date) (*Rulebook, bool) { return r.books.InForce(d) }

// Calendar returns the span of dates the CPTS rulebooks judge.
func (r *Rules) Calendar() domain.Calendar { return r.books.Calendar() }

// ByID returns a rulebook by id.
func (r *Rules) ByID(id string) (*Rulebook, bool) { return r.books.ByID(id) }

// Rulebooks returns every rulebook.
func (r *Rules) Rulebooks() []*Rulebook { return r.books.All() }

// Joining returns the rulebook that created mission m for the contracts
// signed before it too (joins_earlier_contracts), if one did.
func (r *Rules) Joining(m string) (*Rulebook, bool) {
	for _, rb := range r.books.All() {
		if rule, ok := rb.Mission(m); ok && rule.JoinsEarlierContracts {
			return rb, true
		}
	}
	return nil, false
}

// AmendmentsOf returns the amendments of a rulebook.
func (r *Rules) AmendmentsOf(id string) []*Amendment {
	var out []*Amendment
	for _, a := range r.amendments {
		if a.Amends == id {
			out = append(out, a)
		}
	}
	return out
}

// ExamplesRules returns the rules the worked examples of docs/domain.md §2
// (domain/cpts/testdata) were computed under: aci-cpts-2019 in force
// without end, with its amendment 2, and no later version. Why: the
// examples sign contracts after 2022-04-01 with the three core missions
// of 2019; under aci-2022 those would need the crisis mission. The
// examples stay true of the rules they were written for, and the tests
// that replay them run under these.
// They are made at the first call (tests only), not when the program
// starts.
func ExamplesRules() *Rules { return examplesRules() }

var examplesRules = sync.OnceValue(mustExamplesRules)

func mustExamplesRules() *Rules {
	fsys := fstest.MapFS{}
	for _, name := range []string{"rulebooks/aci-cpts-2019.json", "rulebooks/aci-cpts-2019-avenant-2.json"} {
		b, err := fs.ReadFile(rulebookFS, name)
		if err != nil {
			panic(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			panic(err)
		}
		if _, ok := doc["amends"]; !ok {
			doc["in_force"].(map[string]any)["to"] = nil
		}
		if b, err = json.Marshal(doc); err != nil {
			panic(err)
		}
		fsys[name] = &fstest.MapFile{Data: b}
	}
	r, err := LoadRules(fsys)
	if err != nil {
		panic(err)
	}
	return r
}
