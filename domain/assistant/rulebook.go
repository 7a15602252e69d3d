package assistant

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/cptsledger/ledger/domain"
)

//go:embed rulebooks/*.json
var rulebookFS embed.FS

// Rulebook is one version of the medical-assistant aid: its options,
// eligibility conditions and payment calendar. Every interpretation lives
// here as data.
type Rulebook struct {
	domain.RulebookInfo
	ContractYears int         `json:"contract_years"`
	Options       []Option    `json:"options"`
	Eligibility   Eligibility `json:"eligibility"`
	Year1         struct {
		OnHiring    decimal.Decimal `json:"on_hiring"`
		AtEndOfYear decimal.Decimal `json:"at_end_of_year"`
	} `json:"year_1"`
	// SeniorObjective (2024 convention): from the year a doctor is Age,
	// the objective is to maintain the baseline, less Tolerance.
	SeniorObjective *SeniorObjective `json:"senior_objective"`
	// Extension (2024 convention): who may add an FTE share, and when.
	Extension *ExtensionRule `json:"extension"`
	// CoordinationCommitment (avenant 7): a doctor who signs without a
	// coordinated practice commits to join one within its months.
	CoordinationCommitment *Commitment     `json:"coordinated_practice_commitment"`
	Instalment1Rate        decimal.Decimal `json:"instalment_1_rate"`
	Instalment2AfterMonths int             `json:"instalment_2_after_months"`
	// RecoveryPrescriptionYears: a correction may not recover money
	// decided longer ago (CSS art. L.133-4).
	RecoveryPrescriptionYears int `json:"recovery_prescription_years"`
	// PersonalDataRetentionYears: the doctor's personal data are kept
	// that long after the last payment, then may be erased.
	PersonalDataRetentionYears  int      `json:"personal_data_retention_years"`
	PersonalDataRetentionSource string   `json:"personal_data_retention_source"`
	Interpretations             []string `json:"interpretations"`
}

// Info implements domain.Rulebook.
func (r *Rulebook) Info() domain.RulebookInfo { return r.RulebookInfo }

// Option is an FTE share the doctor may sign for.
type Option struct {
	Code                    string `json:"code"`
	RequiresUnderservedZone bool   `json:"requires_underserved_zone"`
}

// Eligibility are the conditions checked at signature.
type Eligibility struct {
	Sector1                          bool     `json:"sector_1"`
	Sector2WithOPTAM                 bool     `json:"sector_2_with_optam"`
	GroupPracticeUnlessUnderserved   bool     `json:"group_practice_unless_underserved_zone"`
	CoordinatedPractice              bool     `json:"coordinated_practice"`
	GeneralPracticeMinimumPatientele int      `json:"general_practice_minimum_patientele"`
	ExcludedSpecialties              []string `json:"excluded_specialties"`
	// MinimumPatientelePercentile (2024 convention): the doctor's
	// patientèle, declared as a percentile of the specialty's with the
	// baseline, may not be below it; 0: no such condition.
	MinimumPatientelePercentile int `json:"minimum_patientele_percentile"`
	// CCAMFeeShareLimit (2024 convention): the specialties admitted only
	// while their technical (CCAM) fees are below a share of their fees.
	CCAMFeeShareLimit *CCAMFeeShareLimit `json:"ccam_fee_share_limit"`
}

// SeniorObjective is the objective of a doctor of Age or more.
type SeniorObjective struct {
	Age       int             `json:"age"`
	Tolerance decimal.Decimal `json:"tolerance"`
}

// CCAMFeeShareLimit is the condition on the share of CCAM fees.
type CCAMFeeShareLimit struct {
	Specialties []string        `json:"specialties"`
	Below       decimal.Decimal `json:"below"`
}

// Option returns the option of that code, if open under the rulebook.
func (r *Rulebook) Option(code string) (Option, bool) {
	i := slices.IndexFunc(r.Options, func(o Option) bool { return o.Code == code })
	if i < 0 {
		return Option{}, false
	}
	return r.Options[i], true
}

// SplitsYear1 reports whether year 1 is paid in two parts (on hiring and at
// the end of the year).
func (r *Rulebook) SplitsYear1() bool { return r.Year1.AtEndOfYear.IsPositive() }

func (r *Rulebook) check() error {
	if r.ContractYears <= 0 || len(r.Options) == 0 {
		return fmt.Errorf("contract_years and options are required")
	}
	if !r.Year1.OnHiring.Add(r.Year1.AtEndOfYear).Equal(decimal.NewFromInt(1)) {
		return fmt.Errorf("year_1 parts sum to %s, not 1", r.Year1.OnHiring.Add(r.Year1.AtEndOfYear))
	}
	if r.PersonalDataRetentionYears <= 0 {
		return fmt.Errorf("personal_data_retention_years must be positive")
	}
	if !r.Instalment1Rate.IsPositive() || r.Instalment1Rate.GreaterThan(decimal.NewFromInt(1)) || r.Instalment2AfterMonths <= 0 {
		return fmt.Errorf("instalment_1_rate must be in (0, 1] and instalment_2_after_months positive")
	}
	return nil
}

// Table is an aid table, in force from a date: the aid per contract year
// for each option and patientèle band.
type Table struct {
	ID      string `json:"id"`
	Source  string `json:"source"`
	InForce struct {
		From domain.Date `json:"from"`
		To   domain.Date `json:"to"`
	} `json:"in_force"`
	Options map[string]AidRow `json:"options"`
}

// AidRow is an option's row of a table, in euros; Year1 is nil where the
// option is not open to new contracts.
type AidRow struct {
	Year1            *decimal.Decimal `json:"year_1"`
	Year2            decimal.Decimal  `json:"year_2"`
	Year3Plus        decimal.Decimal  `json:"year_3_plus"`
	Year3PlusP90P95  decimal.Decimal  `json:"year_3_plus_p90_p95"`
	EveryYearP95Plus decimal.Decimal  `json:"every_year_p95_plus"`
}

// Patientèle bands, fixed at signature.
const (
	BandBelowP90 = "below_p90"
	BandP90P95   = "p90_p95"
	BandP95Plus  = "p95_plus"
)

// Aid returns the aid of contract year k for a band, and whether the table
// has one.
func (row AidRow) Aid(k int, band string) (decimal.Decimal, bool) {
	switch {
	case band == BandP95Plus:
		return row.EveryYearP95Plus, true
	case k == 1:
		if row.Year1 == nil {
			return decimal.Decimal{}, false
		}
		return *row.Year1, true
	case k == 2:
		return row.Year2, true
	case band == BandP90P95:
		return row.Year3PlusP90P95, true
	}
	return row.Year3Plus, true
}

// Rules is the loaded set of rulebooks and tables.
type Rules struct {
	books  *domain.Rulebooks[*Rulebook]
	tables []Table
}

var defaultRules = mustLoad()

func mustLoad() *Rules {
	r, err := LoadRules(rulebookFS)
	if err != nil {
		panic(err)
	}
	return r
}

// DefaultRules returns the rulebooks embedded in the binary.
func DefaultRules() *Rules { return defaultRules }

// LoadRules reads rulebooks/am-*.json and rulebooks/tables.json.
func LoadRules(fsys fs.FS) (*Rules, error) {
	names, err := fs.Glob(fsys, "rulebooks/am-*.json")
	if err != nil {
		return nil, err
	}
	var docs [][]byte
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		docs = append(docs, b)
	}
	books, err := domain.LoadRulebooks(docs, (*Rulebook).check)
	if err != nil {
		return nil, err
	}
	raw, err := fs.ReadFile(fsys, "rulebooks/tables.json")
	if err != nil {
		return nil, err
	}
	var t struct {
		Tables []Table `json:"tables"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("tables.json: %w", err)
	}
	slices.SortFunc(t.Tables, func(a, b Table) int { return a.InForce.From.Compare(b.InForce.From) })
	for i, tb := range t.Tables {
		if i > 0 && (t.Tables[i-1].InForce.To.IsZero() || !t.Tables[i-1].InForce.To.Before(tb.InForce.From)) {
			return nil, fmt.Errorf("tables %s and %s overlap", t.Tables[i-1].ID, tb.ID)
		}
	}
	for _, rb := range books.All() {
		for _, o := range rb.Options {
			for _, tb := range t.Tables {
				if _, ok := tb.Options[o.Code]; !ok {
					return nil, fmt.Errorf("table %s has no row for option %s of %s", tb.ID, o.Code, rb.ID)
				}
			}
		}
	}
	return &Rules{books: books, tables: t.Tables}, nil
}

// InForce returns the rulebook in force on a signature date.
func (r *Rules) InForce(d domain.Date) (*Rulebook, bool) { return r.books.InForce(d) }

// ByID returns a rulebook by id.
func (r *Rules) ByID(id string) (*Rulebook, bool) { return r.books.ByID(id) }

// Calendar returns the span of dates the aid rulebooks judge.
func (r *Rules) Calendar() domain.Calendar { return r.books.Calendar() }

// TableOn returns the table in force on a date: a contract year uses the
// table in force on its first day (domain.md 3.2).
func (r *Rules) TableOn(d domain.Date) (Table, bool) {
	for _, t := range r.tables {
		if !d.Before(t.InForce.From) && (t.InForce.To.IsZero() || !d.After(t.InForce.To)) {
			return t, true
		}
	}
	return Table{}, false
}

// Tables returns every table.
func (r *Rules) Tables() []Table { return slices.Clone(r.tables) }
