package gen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
)

// Medical-assistant contracts signed over time (domain.md section 4).
var aidCurve = []struct {
	on    domain.Date
	count float64
}{
	{domain.MustDate("2019-09-15"), 0},
	{domain.MustDate("2022-05-31"), 3112},
	{domain.MustDate("2024-01-31"), 6000},
	{domain.MustDate("2024-10-31"), 7240},
}

// AidOptions shape a generated population of aid contracts.
type AidOptions struct {
	Seed      uint64
	Contracts int // 7 240 by October 2024 nationally
	Today     domain.Date
	// DecideQuarterly issues DecideDuePayments for every contract on the
	// first day of each quarter (and on Today); otherwise once, on Today.
	DecideQuarterly bool
}

// am2024 is the day the 2024 convention's rulebook applies from.
var am2024 = domain.MustDate("2024-06-22")

var otherSpecialties = []string{"cardiology", "paediatrics", "psychiatry", "ophthalmology", "dermatology", "rheumatology"}

// Aid generates the command lines of medical-assistant aid contracts, in
// business-date order: every contract eligible under the rulebook in force
// on its signature date, about half of them on 1/2 FTE.
func Aid(opts AidOptions) [][]byte {
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0xa1d))
	var out []dated
	seq := 0
	emit := func(on domain.Date, order int, v map[string]any) {
		if on.After(opts.Today) {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		seq++
		out = append(out, dated{on, order, seq, b})
	}
	scale := aidCurve[len(aidCurve)-1].count / float64(max(opts.Contracts, 1))
	for i := 0; i < opts.Contracts; i++ {
		n := (float64(i) + rng.Float64()) * scale
		var signed domain.Date
		for j := 1; j < len(aidCurve); j++ {
			if n <= aidCurve[j].count || j == len(aidCurve)-1 {
				a, b := aidCurve[j-1], aidCurve[j]
				signed = a.on.AddDays(int(float64(a.on.DaysUntil(b.on)) * (n - a.count) / (b.count - a.count)))
				break
			}
		}
		if signed.After(opts.Today) {
			continue
		}
		aidContract(rng, opts, i, signed, emit)
	}
	return sortedLines(out)
}

// aidDoctor is the doctor of a signature. The 2024 convention asks the
// patientèle's percentile at signature (30th or above): it is drawn from
// the baseline, not the random sequence, so that every history generated
// before is kept.
func aidDoctor(rng *rand.Rand, specialty string, sector int, optam, underserved bool, signed domain.Date, baseline int) map[string]any {
	doctor := map[string]any{"rpps": fmt.Sprintf("1%010d", rng.IntN(1e10)),
		"specialty": specialty, "sector": sector, "optam": optam, "group_practice": !underserved || rng.Float64() < 0.5,
		"underserved_zone": underserved, "coordinated_practice": true}
	if !signed.Before(am2024) {
		doctor["patientele_percentile"] = 30 + baseline%70
	}
	return doctor
}

// aidContract emits the commands of the i-th aid contract, signed on signed.
func aidContract(rng *rand.Rand, opts AidOptions, i int, signed domain.Date, emit func(domain.Date, int, map[string]any)) {
	id := uuid.NewSHA1(namespace, fmt.Appendf(nil, "aid/%d/%d", opts.Seed, i))
	cmd := func(kind string, k int) string { return fmt.Sprintf("%s-%s-%d", id, kind, k) }
	am2019 := signed.Before(domain.MustDate("2023-05-01"))
	specialty := "general_practice"
	if rng.Float64() < 0.15 {
		specialty = otherSpecialties[rng.IntN(len(otherSpecialties))]
	}
	sector, optam := 1, rng.Float64() < 0.3
	if rng.Float64() < 0.2 {
		sector, optam = 2, true
	}
	underserved := rng.Float64() < 0.35
	// About half of the doctors take 1/2 FTE (domain.md section 4).
	option := "1/2"
	switch r := rng.Float64(); {
	case am2019 && r < 0.3:
		option = "1/3"
	case am2019 && r > 0.6 && underserved:
		option = "1" // full time only in an under-served zone under am-2019
	case !am2019 && r >= 0.5:
		option = "1"
	}
	band := "below_p90"
	if r := rng.Float64(); r > 0.92 {
		band = "p95_plus"
	} else if r > 0.8 {
		band = "p90_p95"
	}
	baseline := 800 + rng.IntN(1700)
	target := baseline + rng.IntN(baseline/7+1)
	if rng.Float64() < 0.1 {
		target = baseline // maintain
	}
	// The draws in the order they always were: the CPAM, then the RPPS,
	// then the practice.
	cpam := regions[rng.IntN(len(regions))].cpam
	doctor := aidDoctor(rng, specialty, sector, optam, underserved, signed, baseline)
	// The draws added since (coordinated practice, extensions) come from a
	// source of the contract's own: every draw above stays what it was.
	later := rand.New(rand.NewPCG(opts.Seed^0x2024, uint64(i)))
	var joined domain.Date
	if am2019 && later.Float64() < 0.1 {
		joined = commitment(later, signed, doctor)
	}
	emit(signed, 0, map[string]any{"type": "SignAidContract", "command_id": cmd("sign", 0), "contract_id": id,
		"cpam": cpam, "doctor": doctor, "option": option, "signed_on": signed.String(),
		"band": band, "patientele_baseline": baseline, "patientele_target": target})
	years := domain.ContractYears{Signed: signed, Count: 5}
	hired := signed.AddDays(5 + rng.IntN(110))
	emit(hired, 1, map[string]any{"type": "HireAssistant", "command_id": cmd("hire", 0), "contract_id": id, "hired_on": hired.String()})
	last := 5
	var terminated domain.Date
	if rng.Float64() < 0.02 {
		terminated = years.Start(2).AddDays(rng.IntN(2 * 365))
		last = years.Of(terminated)
		emit(terminated, 2, map[string]any{"type": "TerminateContract", "command_id": cmd("terminate", 0), "contract_id": id,
			"terminated_on": terminated.String(), "reason": "l'assistant a quitté le cabinet"})
	}
	if !joined.IsZero() && (terminated.IsZero() || joined.Before(terminated)) {
		emit(joined, 2, map[string]any{"type": "RecordCoordinatedPractice", "command_id": cmd("join", 0), "contract_id": id,
			"joined_on": joined.String(), "form": coordinatedForms[later.IntN(len(coordinatedForms))]})
	}
	reports := aidReports(rng, id, years, last, baseline, target, emit)
	if option == "1" && specialty == "general_practice" && last == 5 && later.Float64() < 0.3 {
		extension(later, id, years, target, reports, emit)
	}
	aidDecisions(opts, id, signed, emit)
}

// aidDecisions emits the contract's DecideDuePayments: on Today, and on the
// first day of each quarter when asked.
func aidDecisions(opts AidOptions, id uuid.UUID, signed domain.Date, emit func(domain.Date, int, map[string]any)) {
	dates := []domain.Date{opts.Today}
	if opts.DecideQuarterly {
		y, m, _ := signed.YMD()
		q := domain.NewDate(y, m-(m-1)%3+3, 1) // the next quarter's first day
		for d := q; d.Before(opts.Today) && d.Before(signed.AddYears(6)); d = d.AddMonths(3) {
			dates = append(dates, d)
		}
	}
	for j, d := range dates {
		emit(d, 9, map[string]any{"type": "DecideDuePayments", "command_id": fmt.Sprintf("%s-decide-%d", id, j), "contract_id": id, "as_of": d.String()})
	}
}

type report struct {
	on         domain.Date
	patientele int
}

var coordinatedForms = []string{"cpts", "msp", "esp", "cds"}

// commitment makes an avenant-7 doctor sign without a coordinated practice
// and returns the day they join one: most within the two years, some late,
// one in ten never (zero).
func commitment(later *rand.Rand, signed domain.Date, doctor map[string]any) domain.Date {
	doctor["coordinated_practice"] = false
	if later.Float64() < 0.1 {
		return domain.Date{}
	}
	return signed.AddDays(30 + later.IntN(900))
}

// extension adds 1/2 or 1 FTE to a GP's full-time contract in year 3 or 4,
// in a priority zone, when the 2024 convention is in force and the last
// patientèle reported by then reached the target (the rules of
// ExtendAssistant: the generator asks only what is accepted).
func extension(later *rand.Rand, id uuid.UUID, years domain.ContractYears, target int, reports map[int]report, emit func(domain.Date, int, map[string]any)) {
	on := years.Start(3).AddDays(later.IntN(2 * 365))
	last := 0
	for k, r := range reports { // those recorded by then: submitted in date order, a report before the extension of its day
		if k > last && !r.on.After(on) {
			last = k
		}
	}
	if on.Before(am2024) || last == 0 || reports[last].patientele < target {
		return
	}
	fte := "1/2"
	if later.Float64() < 0.3 {
		fte = "1"
	}
	emit(on, 4, map[string]any{"type": "ExtendAssistant", "command_id": fmt.Sprintf("%s-extend-0", id), "contract_id": id,
		"added_fte": fte, "on": on.String(), "priority_zone": true})
}

// aidReports emits the patientèle reported for each year before last, and
// returns them.
func aidReports(rng *rand.Rand, id uuid.UUID, years domain.ContractYears, last, baseline, target int, emit func(domain.Date, int, map[string]any)) map[int]report {
	reports := map[int]report{}
	for k := 1; k < last; k++ {
		on := years.End(k).AddDays(10 + rng.IntN(50))
		p := baseline + int(float64(target-baseline+20)*(0.2+rng.Float64()))
		reports[k] = report{on, p}
		emit(on, 3, map[string]any{"type": "ReportPatientele", "command_id": fmt.Sprintf("%s-report-%d", id, k), "contract_id": id,
			"contract_year": k, "reported_on": on.String(), "patientele": p})
	}
	return reports
}
