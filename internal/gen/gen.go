// Package gen generates realistic CPTS contract histories as command lines,
// from a seed: the national demo and the benchmarks replay them through the
// same path as `ledger submit`.
package gen

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
)

// Options shape a generated history.
type Options struct {
	Seed      uint64
	Contracts int         // number of CPTS (about 700 nationally by mid-2025)
	Today     domain.Date // nothing dated after it is generated
	// DecideMonthly issues DecideDuePayments for every live contract on the
	// first day of each month (and on Today); otherwise once, on Today.
	DecideMonthly bool
}

// Signature counts published over time (domain.md section 4): cumulative
// contracts signed by each date.
var signatureCurve = []struct {
	on    domain.Date
	count float64
}{
	{domain.MustDate("2019-08-25"), 0},
	{domain.MustDate("2020-12-31"), 30},
	{domain.MustDate("2022-02-28"), 150},
	{domain.MustDate("2024-02-29"), 530},
	{domain.MustDate("2024-10-31"), 567},
	{domain.MustDate("2025-05-31"), 700},
}

// signatureDate returns the date by which the n-th contract (0-based,
// fractional) had signed nationally, extrapolating the last slope.
func signatureDate(n float64) domain.Date {
	pts := signatureCurve
	for i := 1; i < len(pts); i++ {
		if n <= pts[i].count || i == len(pts)-1 {
			a, b := pts[i-1], pts[i]
			days := float64(a.on.DaysUntil(b.on)) * (n - a.count) / (b.count - a.count)
			return a.on.AddDays(int(days))
		}
	}
	return pts[len(pts)-1].on
}

type dated struct {
	on    domain.Date
	order int
	seq   int
	line  []byte
}

// Contract is one generated contract with its commands.
type Contract struct {
	ID       uuid.UUID
	SignedOn domain.Date
	Tier     string
}

var namespace = uuid.MustParse("9d7e2c1a-4b3f-5a6e-8d9c-1f2e3a4b5c6d")

var regions = []struct{ ars, cpam string }{
	{"ARS Auvergne-Rhône-Alpes", "CPAM du Rhône"}, {"ARS Hauts-de-France", "CPAM de Lille-Douai"},
	{"ARS Île-de-France", "CPAM de Paris"}, {"ARS Nouvelle-Aquitaine", "CPAM de la Gironde"},
	{"ARS Occitanie", "CPAM de la Haute-Garonne"}, {"ARS Grand Est", "CPAM du Bas-Rhin"},
	{"ARS Provence-Alpes-Côte d'Azur", "CPAM des Bouches-du-Rhône"}, {"ARS Bretagne", "CPAM d'Ille-et-Vilaine"},
	{"ARS Normandie", "CPAM de Seine-Maritime"}, {"ARS Pays de la Loire", "CPAM de Loire-Atlantique"},
	{"ARS Bourgogne-Franche-Comté", "CPAM de Côte-d'Or"}, {"ARS Centre-Val de Loire", "CPAM du Loiret"},
}

// National generates the command lines of a national history, in business
// date order, and the contracts they create.
func National(opts Options) ([][]byte, []Contract) {
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x5eed))
	var out []dated
	seq := 0
	emit := func(on domain.Date, order int, v map[string]any) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		seq++
		out = append(out, dated{on, order, seq, b})
	}
	var contracts []Contract
	for i := 0; i < opts.Contracts; i++ {
		// Signatures follow the published curve whatever the count: more
		// contracts make it denser, not longer.
		scale := 700 / float64(max(opts.Contracts, 1))
		signed := signatureDate((float64(i) + rng.Float64()) * scale)
		if signed.After(opts.Today) {
			continue
		}
		id := uuid.NewSHA1(namespace, fmt.Appendf(nil, "%d/%d", opts.Seed, i))
		c := contractCommands(rng, id, i, signed, opts.Today)
		contracts = append(contracts, Contract{ID: id, SignedOn: signed, Tier: c.tier})
		for _, cmd := range c.commands {
			emit(cmd.on, cmd.order, cmd.body)
		}
		decideDates := []domain.Date{opts.Today}
		if opts.DecideMonthly {
			y, m, _ := signed.YMD()
			first := domain.NewDate(y, m+1, 1)
			for d := first; d.Before(opts.Today) && d.Before(signed.AddYears(6)); d = d.AddMonths(1) {
				decideDates = append(decideDates, d)
			}
		}
		for j, d := range decideDates {
			emit(d, 9, map[string]any{"type": "DecideDuePayments", "command_id": fmt.Sprintf("%s-decide-%d", id, j),
				"contract_id": id, "as_of": d.String()})
		}
	}
	for _, cmd := range append(referenceCommands(opts.Today), lettersAlone(opts.Seed, opts.Contracts, opts.Today)...) {
		emit(cmd.on, cmd.order, cmd.body)
	}
	lines := sortedLines(out)
	return lines, contracts
}

// rules are the embedded CPTS rulebooks: the generator takes from them
// what they define (the tiers, the missions' deadlines, the day aci-2022
// comes into force, the published amounts), never restating it.
var rules = cpts.Embedded()

// aci2022Book is the rulebook that created the crisis mission.
var aci2022Book = func() *cpts.Rulebook {
	rb, ok := rules.ByID("aci-2022")
	if !ok {
		panic("gen: the embedded rulebooks have no aci-2022")
	}
	return rb
}()

// aci2022 is the day the crisis mission exists (rulebook aci-2022).
var aci2022 = aci2022Book.InForce.From

// referenceCommands are the national facts of the history: an amendment
// that publishes the crisis amounts of T1, T2 and T4 — illustrative
// figures, proportional to T3's by the operating funding, since the real
// ones are not published where the project can read them — and the winter
// 2022–2023 epidemics recognised as a crisis by two ARS.
func referenceCommands(today domain.Date) []command {
	var out []command
	add := func(on domain.Date, body map[string]any) {
		if !on.After(today) {
			out = append(out, command{on, 0, body})
		}
	}
	var rows []map[string]any
	for _, r := range illustrativeCrisisAmounts() {
		rows = append(rows, map[string]any{"tier": r.tier, "mission": "crisis", "component": "fixed", "amount": r.fixed},
			map[string]any{"tier": r.tier, "mission": "crisis", "component": "crisis_supplement", "amount": r.supplement})
	}
	add(domain.MustDate("2023-06-15"), map[string]any{"type": "PublishRulebookAmendment", "command_id": "demo-amendment-crisis-t1-t2-t4",
		"amendment_id": "aci-2022-crise-t1-t2-t4", "amends": aci2022Book.ID, "effective_on": aci2022.String(), "published_on": "2023-06-15",
		"amounts": rows, "source": "Démonstration: montants illustratifs, proportionnels à ceux du T3 selon le financement de fonctionnement",
		"reason": "Montants de la mission crise des tailles 1, 2 et 4 (démonstration)"})
	for _, c := range []struct{ ars, from, to, on string }{
		{"ARS Hauts-de-France", "2022-10-01", "2023-03-31", "2022-12-01"},
		{"ARS Grand Est", "2022-11-15", "2023-02-28", "2022-12-15"},
	} {
		add(domain.MustDate(c.on), map[string]any{"type": "RecogniseCrisis", "command_id": "demo-crisis-" + c.ars, "ars": c.ars,
			"from": c.from, "to": c.to, "recognised_on": c.on, "reason": "Épidémies hivernales 2022-2023 (bronchiolite, grippe, covid-19)"})
	}
	return out
}

// sortedLines orders generated commands by business date, then by kind of
// fact on the same day, then as generated.
func sortedLines(out []dated) [][]byte {
	slices.SortStableFunc(out, func(a, b dated) int {
		if c := a.on.Compare(b.on); c != 0 {
			return c
		}
		if a.order != b.order {
			return a.order - b.order
		}
		return a.seq - b.seq
	})
	lines := make([][]byte, len(out))
	for i, d := range out {
		lines[i] = d.line
	}
	return lines
}

type command struct {
	on    domain.Date
	order int
	body  map[string]any
}

type generated struct {
	tier     string
	commands []command
}

// tierRange is a size tier: its share of the CPTS and the population range
// drawn in it.
type tierRange struct {
	code     string
	share    float64
	min, max int
}

// tierShares are the national proportions of the CPTS by size tier, in the
// rulebook's order of tiers (the generator's own figures).
var tierShares = []float64{0.30, 0.38, 0.24, 0.08}

// tierRanges are the rulebook's tiers, drawn in the national proportions,
// populations from 12 000 (no CPTS is smaller) to 420 000 (the largest
// tier's open end).
var tierRanges = func() []tierRange {
	var out []tierRange
	for i, t := range aci2022Book.Tiers {
		r := tierRange{code: t.Code, share: tierShares[i], min: max(t.PopulationMin, 12_000), max: 420_000}
		if t.PopulationMax != nil {
			r.max = *t.PopulationMax
		}
		out = append(out, r)
	}
	return out
}()

// deadlinesOf are the start and deployment deadlines in months (0: none)
// of the missions of a contract signed under rb.
func deadlinesOf(rb *cpts.Rulebook) map[string][2]int {
	out := map[string][2]int{}
	for _, m := range rb.Missions {
		var dl [2]int
		if m.StartMonths != nil {
			dl[0] = *m.StartMonths
		}
		if m.DeployMonths != nil {
			dl[1] = *m.DeployMonths
		}
		out[m.Code] = dl
	}
	return out
}

// illustrativeCrisisAmounts are the crisis amounts of the tiers whose
// amounts aci-2022 does not publish: the published tier's, times the
// tier's operating funding over the published tier's (figures for the
// demo, said so in the amendment's source).
func illustrativeCrisisAmounts() []struct{ tier, fixed, supplement string } {
	var known cpts.TierAmounts
	for _, t := range aci2022Book.Tiers {
		if a := aci2022Book.Amounts[t.Code]; len(a.Missions["crisis"].Unpublished) == 0 {
			known = a
		}
	}
	var out []struct{ tier, fixed, supplement string }
	for _, t := range aci2022Book.Tiers {
		a := aci2022Book.Amounts[t.Code]
		if len(a.Missions["crisis"].Unpublished) == 0 {
			continue
		}
		ratio := a.Operating.Div(known.Operating)
		out = append(out, struct{ tier, fixed, supplement string }{t.Code,
			known.Missions["crisis"].Fixed.Mul(ratio).Round(2).String(), known.Missions["crisis"].CrisisSupplement.Mul(ratio).Round(2).String()})
	}
	return out
}

func contractCommands(rng *rand.Rand, id uuid.UUID, n int, signed, today domain.Date) generated {
	var g generated
	add := func(on domain.Date, order int, body map[string]any) {
		if on.After(today) {
			return
		}
		body["contract_id"] = id
		body["command_id"] = fmt.Sprintf("%s-%d", id, len(g.commands))
		g.commands = append(g.commands, command{on, order, body})
	}
	tier := drawTier(rng)
	g.tier = tier.code
	population := tier.min + rng.IntN(tier.max-tier.min+1)
	missions := []string{"access", "pathways", "prevention"}
	book, _ := rules.InForce(signed)
	deadlines := deadlinesOf(book)
	if !signed.Before(aci2022) {
		missions = append(missions, "crisis")
	}
	if rng.Float64() < 0.6 {
		missions = append(missions, "quality")
	}
	if rng.Float64() < 0.5 {
		missions = append(missions, "support")
	}
	indicators, indJSON := drawIndicators(rng, missions)
	region := regions[rng.IntN(len(regions))]
	party := map[string]string{"id": fmt.Sprintf("cpts-%04d", n+1), "name": fmt.Sprintf("CPTS %04d", n+1)}
	sign := map[string]any{"type": "SignContract", "cpts": party, "ars": region.ars, "cpam": region.cpam, "population": population,
		"signed_on": signed.String(), "missions": missions, "snp_regulation": rng.Float64() < 0.3, "indicators": indJSON}
	if letter, ok := letterBefore(id, signed, today, party, region.ars, region.cpam, population); ok {
		g.commands = append(g.commands, letter)
		sign["letter_id"] = letter.body["letter_id"]
	}
	add(signed, 0, sign)

	years := domain.ContractYears{Signed: signed, Count: 5}
	end := years.End(5)
	var terminated domain.Date
	late := rng.Float64() < 0.12 // a CPTS that struggles with the calendar
	if late && rng.Float64() < 0.25 {
		terminated = years.Start(2).AddDays(rng.IntN(2 * 365))
	}
	limit := end
	if !terminated.IsZero() {
		limit = terminated
	}
	starts := startMissions(rng, missions, deadlines, signed, limit, late, add)
	if signed.Before(aci2022) && limit.After(aci2022.AddDays(200)) && rng.Float64() < 0.7 {
		// An earlier contract takes the crisis mission up (domain.md §2.10).
		s := aci2022.AddDays(rng.IntN(150))
		starts["crisis"] = s
		add(s, 1, map[string]any{"type": "StartMission", "mission": "crisis", "started_on": s.String()})
		if d := s.AddDays(90 + rng.IntN(300)); d.Before(limit) {
			add(d, 1, map[string]any{"type": "DeployMission", "mission": "crisis", "deployed_on": d.String()})
		}
	}
	if !terminated.IsZero() {
		add(terminated, 2, map[string]any{"type": "TerminateContract", "terminated_on": terminated.String(), "reason": "calendrier des missions non respecté"})
	}
	last := 5
	if !terminated.IsZero() {
		last = years.Of(terminated)
	}
	reportIndicators(rng, years, last, terminated, indicators, starts, add)
	return g
}

// letterBefore is the letter of intent the ARS validated before a contract
// signed under aci-2022 (avenant 2): for four CPTS in five, 60 to 300 days
// before the signature, not before 2022-04-01. It draws from a generator
// of its own, seeded by the contract: the other draws, and so the
// histories generated before letters existed, are unchanged.
func letterBefore(contract uuid.UUID, signed, today domain.Date, party map[string]string, ars, cpam string, population int) (command, bool) {
	if signed.Before(aci2022) {
		return command{}, false
	}
	seed := binary.BigEndian.Uint64(contract[:8])
	rng := rand.New(rand.NewPCG(seed, seed^0x1e77e5))
	if rng.Float64() >= 0.8 {
		return command{}, false
	}
	on := domain.MaxDate(aci2022, signed.AddDays(-(60 + rng.IntN(241))))
	letter := uuid.NewSHA1(namespace, fmt.Appendf(nil, "letter/%s", contract))
	return command{on, 0, map[string]any{"type": "ValidateLetterOfIntent", "command_id": fmt.Sprintf("%s-letter", letter),
		"letter_id": letter, "cpts": party, "ars": ars, "cpam": cpam, "population": population, "validated_on": on.String()}}, !on.After(today)
}

// lettersAlone are letters of intent no contract followed (yet): one for
// every twenty CPTS, validated between 2022-04-01 and today, each keeping
// its aid.
func lettersAlone(seed uint64, contracts int, today domain.Date) []command {
	rng := rand.New(rand.NewPCG(seed, seed^0xa10e))
	days := aci2022.DaysUntil(today)
	var out []command
	for i := range contracts / 20 {
		if days <= 0 {
			break
		}
		on := aci2022.AddDays(rng.IntN(days + 1))
		tier := drawTier(rng)
		region := regions[rng.IntN(len(regions))]
		letter := uuid.NewSHA1(namespace, fmt.Appendf(nil, "%d/letter-alone/%d", seed, i))
		out = append(out, command{on, 0, map[string]any{"type": "ValidateLetterOfIntent", "command_id": fmt.Sprintf("%s-letter", letter),
			"letter_id": letter, "cpts": map[string]string{"id": fmt.Sprintf("cpts-l%03d", i+1), "name": fmt.Sprintf("CPTS en projet %03d", i+1)},
			"ars": region.ars, "cpam": region.cpam, "population": tier.min + rng.IntN(tier.max-tier.min+1), "validated_on": on.String()}})
	}
	return out
}

// drawTier draws a size tier in the national proportions.
func drawTier(rng *rand.Rand) tierRange {
	r := rng.Float64()
	tier := tierRanges[len(tierRanges)-1]
	for _, t := range tierRanges {
		if r < t.share {
			tier = t
			break
		}
		r -= t.share
	}
	return tier
}

// indicator is an indicator of a generated contract.
type indicator struct {
	mission, code string
	weight        string
	target        int
}

// drawIndicators draws one to three indicators per mission, and their JSON.
func drawIndicators(rng *rand.Rand, missions []string) ([]indicator, []map[string]any) {
	var indicators []indicator
	var indJSON []map[string]any
	for _, m := range missions {
		if m == "crisis" {
			continue // no variable part: no indicator
		}
		weights := [][]string{{"1"}, {"0.5", "0.5"}, {"0.25", "0.25", "0.5"}}[rng.IntN(3)]
		for j, w := range weights {
			in := indicator{m, fmt.Sprintf("%s-%d", m, j+1), w, []int{10, 50, 100, 250, 1200}[rng.IntN(5)]}
			indicators = append(indicators, in)
			indJSON = append(indJSON, map[string]any{"mission": m, "code": in.code, "weight": w, "target": fmt.Sprint(in.target)})
		}
	}
	return indicators, indJSON
}

// startMissions starts (and deploys) the missions before limit, mostly
// within their deadlines unless the contract is late, and returns when
// each started.
func startMissions(rng *rand.Rand, missions []string, deadlines map[string][2]int, signed, limit domain.Date, late bool, add func(domain.Date, int, map[string]any)) map[string]domain.Date {
	starts := map[string]domain.Date{}
	for _, m := range missions {
		dl := deadlines[m]
		var s domain.Date
		switch {
		case dl[0] > 0 && !late:
			s = signed.AddDays(rng.IntN(dl[0]*30 - 10))
		case dl[0] > 0:
			s = signed.AddDays(dl[0]*30 + rng.IntN(240))
		default:
			s = signed.AddDays(rng.IntN(540))
		}
		if !s.Before(limit) {
			continue
		}
		starts[m] = s
		add(s, 1, map[string]any{"type": "StartMission", "mission": m, "started_on": s.String()})
		deployBy := 18 * 30
		if dl[1] > 0 {
			deployBy = dl[1] * 30
		}
		room := max(deployBy-90-signed.DaysUntil(s), 120) // mostly before the deadline
		d := s.AddDays(90 + rng.IntN(room))
		if late {
			d = d.AddDays(120 + rng.IntN(200))
		}
		if d.Before(limit) && dl[1] > 0 {
			add(d, 1, map[string]any{"type": "DeployMission", "mission": m, "deployed_on": d.String()})
		}
	}
	return starts
}

// reportIndicators reports each contract year's indicators, up to year
// last (the year of the termination, if any).
func reportIndicators(rng *rand.Rand, years domain.ContractYears, last int, terminated domain.Date, indicators []indicator,
	starts map[string]domain.Date, add func(domain.Date, int, map[string]any)) {
	for k := 1; k <= last; k++ {
		periodEnd := years.End(k)
		if k == last && !terminated.IsZero() {
			periodEnd = terminated
		}
		on := periodEnd.AddDays(15 + rng.IntN(75))
		var values []map[string]any
		for _, in := range indicators {
			s, ok := starts[in.mission]
			if !ok || !domain.MaxDate(s, years.Start(k)).Before(periodEnd) {
				continue // the mission did not run in year k (a termination on the anniversary leaves year k empty)
			}
			achievement := 0.4 + rng.Float64()*0.75
			values = append(values, map[string]any{"mission": in.mission, "code": in.code, "value": fmt.Sprint(int(float64(in.target) * achievement))})
		}
		if values == nil {
			values = []map[string]any{}
		}
		add(on, 3, map[string]any{"type": "ReportIndicators", "contract_year": k, "reported_on": on.String(), "values": values})
	}
}
