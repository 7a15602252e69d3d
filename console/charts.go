package console

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
	"github.com/shopspring/decimal"
)

// Charts are drawn on the server as SVG: the geometry is computed here, in
// user units of a fixed viewBox, and the templates (charts.html) only place
// it. Heights come from exact amounts scaled once to pixels: the only
// approximation is the drawing.

const (
	chartW, chartH = 720, 260 // the viewBox
	plotX, plotY   = 70, 20   // top-left corner of the plot area
	plotW, plotH   = 630, 190
)

// bar is one bar (or one stacked segment) of a chart.
type bar struct {
	X, Y, W, H float64
	Class      string // a CSS class: the series
	Label      string // its value, for the title (tooltip) and screen readers
}

// mark is a reference mark on a chart.
type mark struct {
	X, Y  float64
	Label string
}

// tick is an axis label.
type tick struct {
	X, Y  float64
	Label string
}

// barChart is a bar chart with its legend and axes.
type barChart struct {
	Title   string // a message key
	Bars    []bar
	Marks   []mark
	XTicks  []tick
	YTicks  []tick
	Legend  []legend
	Empty   bool
	Summary string // the data in words, for screen readers
}

type legend struct{ Class, Label string }

// scale maps values to heights: the top of the plot is the largest value
// rounded up to a round number.
type scale struct{ max decimal.Decimal }

func newScale(max decimal.Decimal) scale {
	if max.Sign() <= 0 {
		return scale{decimal.NewFromInt(1)}
	}
	step := decimal.NewFromInt(1)
	for step.Mul(decimal.NewFromInt(10)).LessThan(max) {
		step = step.Mul(decimal.NewFromInt(10))
	}
	return scale{max.Div(step).Ceil().Mul(step)}
}

func (s scale) height(v decimal.Decimal) float64 {
	f, _ := v.Div(s.max).Mul(decimal.NewFromInt(plotH)).Float64() // drawing only
	return f
}

func (s scale) ticks(format func(decimal.Decimal) string) []tick {
	var out []tick
	for i := 0; i <= 4; i++ {
		v := s.max.Mul(decimal.NewFromInt(int64(i))).Div(decimal.NewFromInt(4))
		out = append(out, tick{X: plotX - 6, Y: plotY + plotH - s.height(v), Label: format(v)})
	}
	return out
}

// amountsChart: the amounts decided per calendar year, one stacked bar a
// year, a segment per scheme.
func amountsChart(totals []query.Total, lang string) barChart {
	c := barChart{Title: "decided_per_year"}
	byYear := map[int]map[string]domain.Money{}
	var years []int
	for _, t := range totals {
		if t.CalendarYear == nil {
			continue
		}
		y := *t.CalendarYear
		if byYear[y] == nil {
			byYear[y] = map[string]domain.Money{}
			years = append(years, y)
		}
		byYear[y][t.Scheme] = byYear[y][t.Scheme].Add(t.Decided)
	}
	slices.Sort(years)
	if len(years) == 0 {
		c.Empty = true
		return c
	}
	published := map[int]domain.Money{}
	for _, p := range cpts.PublishedAmounts() {
		if slices.Contains(years, p.Year) {
			published[p.Year] = p.Amount
		}
	}
	var max decimal.Decimal
	for _, y := range years {
		var sum domain.Money
		for _, m := range byYear[y] {
			if m.Sign() > 0 {
				sum = sum.Add(m)
			}
		}
		max = decimal.Max(max, sum.Decimal(), published[y].Decimal())
	}
	sc := newScale(max)
	slot := float64(plotW) / float64(len(years))
	for i, y := range years {
		x := plotX + float64(i)*slot + slot*0.15
		base := float64(plotY + plotH)
		summary := strconv.Itoa(y) + ":"
		for _, scheme := range []string{cpts.Scheme, "assistant"} {
			m, ok := byYear[y][scheme]
			if !ok || m.Sign() <= 0 {
				continue
			}
			h := sc.height(m.Decimal())
			base -= h
			label := fmt.Sprintf("%d, %s: %s", y, translate(lang, scheme), formatMoney(lang, m))
			c.Bars = append(c.Bars, bar{X: x, Y: base, W: slot * 0.7, H: h, Class: "s-" + scheme, Label: label})
			summary += " " + label + ";"
		}
		if p, ok := published[y]; ok {
			label := fmt.Sprintf("%d, CPTS %s: %s", y, translate(lang, "published"), formatMoney(lang, p))
			c.Marks = append(c.Marks, mark{X: x + slot*0.35, Y: plotY + plotH - sc.height(p.Decimal()), Label: label})
			summary += " " + label + ";"
		}
		c.XTicks = append(c.XTicks, tick{X: x + slot*0.35, Y: plotY + plotH + 16, Label: strconv.Itoa(y)})
		c.Summary += summary + " "
	}
	c.YTicks = sc.ticks(func(v decimal.Decimal) string { return compactEuros(lang, v) })
	c.Legend = []legend{{"s-cpts", translate(lang, "cpts")}, {"s-assistant", translate(lang, "assistant")}}
	if len(published) > 0 {
		c.Legend = append(c.Legend, legend{"mark", "CPTS " + translate(lang, "published")})
	}
	return c
}

// compactEuros writes an axis label: 1,2 M€ / €1.2M.
func compactEuros(lang string, v decimal.Decimal) string {
	unit, div := "", decimal.NewFromInt(1)
	switch {
	case v.GreaterThanOrEqual(decimal.NewFromInt(1_000_000)):
		unit, div = "M", decimal.NewFromInt(1_000_000)
	case v.GreaterThanOrEqual(decimal.NewFromInt(1_000)):
		unit, div = "k", decimal.NewFromInt(1_000)
	}
	s := v.Div(div).Round(1).String()
	if lang == "en" {
		return "€" + s + unit
	}
	return stringsReplaceDot(s) + "\u00a0" + unit + "€"
}

func stringsReplaceDot(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == '.' {
			b[i] = ','
		}
	}
	return string(b)
}

// signedChart: CPTS contracts signed by the end of each year (cumulative),
// with the published counts as reference marks.
func signedChart(signedBy map[int]int, lang string) barChart {
	c := barChart{Title: "cpts_signed"}
	var years []int
	for y := range signedBy {
		years = append(years, y)
	}
	published := cpts.PublishedVolumes()
	for _, p := range published {
		y, _, _ := p.On.YMD()
		if !slices.Contains(years, y) {
			years = append(years, y)
		}
	}
	slices.Sort(years)
	if len(signedBy) == 0 {
		c.Empty = true
		return c
	}
	cumulative := map[int]int{}
	total, max := 0, 0
	for y := years[0]; y <= years[len(years)-1]; y++ {
		total += signedBy[y]
		cumulative[y] = total
		max = maxInt(max, total)
	}
	for _, p := range published {
		max = maxInt(max, p.Count)
	}
	sc := newScale(decimal.NewFromInt(int64(max)))
	span := years[len(years)-1] - years[0] + 1
	slot := float64(plotW) / float64(span)
	for i := 0; i < span; i++ {
		y := years[0] + i
		x := plotX + float64(i)*slot + slot*0.15
		h := sc.height(decimal.NewFromInt(int64(cumulative[y])))
		label := fmt.Sprintf("%d: %d", y, cumulative[y])
		c.Bars = append(c.Bars, bar{X: x, Y: plotY + plotH - h, W: slot * 0.7, H: h, Class: "s-cpts", Label: label})
		c.XTicks = append(c.XTicks, tick{X: x + slot*0.35, Y: plotY + plotH + 16, Label: strconv.Itoa(y)})
		c.Summary += label + "; "
	}
	for _, p := range published {
		y, m, _ := p.On.YMD()
		x := plotX + (float64(y-years[0])+float64(m)/12)*slot
		label := fmt.Sprintf("%s: %d (%s)", formatDate(lang, p.On), p.Count, p.Source)
		c.Marks = append(c.Marks, mark{X: x, Y: plotY + plotH - sc.height(decimal.NewFromInt(int64(p.Count))), Label: label})
		c.Summary += translate(lang, "published") + " " + label + "; "
	}
	c.YTicks = sc.ticks(func(v decimal.Decimal) string { return v.Round(0).String() })
	c.Legend = []legend{{"s-cpts", translate(lang, "in_ledger")}, {"mark", translate(lang, "published")}}
	return c
}

// monthsChart: what falls due per month.
func monthsChart(months []month, lang string) barChart {
	c := barChart{Title: "due_per_month"}
	if len(months) == 0 {
		c.Empty = true
		return c
	}
	var max decimal.Decimal
	for _, m := range months {
		max = decimal.Max(max, m.Total.Decimal())
	}
	sc := newScale(max)
	slot := float64(plotW) / float64(len(months))
	for i, m := range months {
		x := plotX + float64(i)*slot + slot*0.15
		h := 0.0
		if m.Total.Sign() > 0 {
			h = sc.height(m.Total.Decimal())
		}
		label := m.Key + ": " + formatMoney(lang, m.Total)
		c.Bars = append(c.Bars, bar{X: x, Y: plotY + plotH - h, W: slot * 0.7, H: h, Class: "s-cpts", Label: label})
		c.XTicks = append(c.XTicks, tick{X: x + slot*0.35, Y: plotY + plotH + 16, Label: m.Key})
		c.Summary += label + "; "
	}
	c.YTicks = sc.ticks(func(v decimal.Decimal) string { return compactEuros(lang, v) })
	return c
}

// deadlineChart places a CPTS contract's deadlines and the dates they were
// met on one time axis, a row per mission and kind.
type deadlineChart struct {
	Rows   []deadlineRow
	Ticks  []tick
	Height int
	Empty  bool
}

type deadlineRow struct {
	Y                float64
	Label            string
	DeadlineX, DoneX float64
	Done             bool
	Late             bool
	Title            string
}

func newDeadlineChart(ds []projections.Deadline, signed domain.Date, lang string) deadlineChart {
	c := deadlineChart{}
	if len(ds) == 0 || signed.IsZero() {
		c.Empty = true
		return c
	}
	start, end := signed, signed.AddMonths(30)
	for _, d := range ds {
		if !d.DoneOn.IsZero() && d.DoneOn.After(end) {
			end = d.DoneOn.AddDays(30)
		}
	}
	days := float64(start.DaysUntil(end))
	x := func(d domain.Date) float64 { return 160 + float64(start.DaysUntil(d))/days*540 }
	for i, d := range ds {
		row := deadlineRow{Y: 20 + float64(i)*22, Label: translate(lang, d.Mission) + " · " + translate(lang, d.Kind), DeadlineX: x(d.Deadline)}
		row.Title = fmt.Sprintf("%s %s: %s %s", row.Label, strconv.Itoa(d.Months), translate(lang, "deadline"), formatDate(lang, d.Deadline))
		if !d.DoneOn.IsZero() {
			row.Done, row.DoneX, row.Late = true, x(d.DoneOn), d.DoneOn.After(d.Deadline)
			row.Title += ", " + translate(lang, "done_on") + " " + formatDate(lang, d.DoneOn)
		}
		c.Rows = append(c.Rows, row)
	}
	c.Height = 40 + len(ds)*22
	for m := 0; ; m += 6 {
		d := signed.AddMonths(m)
		if d.After(end) {
			break
		}
		c.Ticks = append(c.Ticks, tick{X: x(d), Y: float64(c.Height - 6), Label: fmt.Sprintf("%d %s", m, translate(lang, "months"))})
	}
	return c
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
