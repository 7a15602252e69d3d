package console

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/query"
)

// Charts are drawn on the server as SVG: the geometry is computed here, in
// user units of a viewBox, and the templates (charts.html) only place it.
// Heights come from exact amounts scaled once to pixels: the only
// approximation is the drawing. Each chart is drawn twice: wide, and
// narrow for screens under 600 px (the stylesheet shows one), where a
// viewBox of 360 units is drawn at about one unit a pixel and its 11-unit
// labels stay legible. Label widths are measured (textWidth), so that
// margins fit the labels instead of clipping them.

// fontSize is the size of every chart label, in user units (charts.css).
const fontSize = 11

// frame is a chart's viewBox and its plot area.
type frame struct {
	W, H           float64 // the viewBox
	Top, PlotH     float64 // the plot's top and height
	Right, XLabelH float64 // the margin right of the plot; room for the x labels below it
}

var (
	wideFrame   = frame{W: 720, H: 260, Top: 20, PlotH: 190, Right: 20, XLabelH: 50}
	narrowFrame = frame{W: 360, H: 240, Top: 16, PlotH: 170, Right: 10, XLabelH: 54}
)

// goRegular measures labels. Browsers draw them in the system's sans-serif,
// whose widths differ: measureSlack covers that.
var goRegular = func() *sfnt.Font {
	f, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		panic(err)
	}
	return f
}()

const measureSlack = 1.2

// textWidth is the width of a label at fontSize, in user units.
func textWidth(s string) float64 {
	var buf sfnt.Buffer
	ppem := fixed.Int26_6(fontSize * 64)
	var w fixed.Int26_6
	for _, r := range s {
		adv := fixed.Int26_6(fontSize * 64 * 6 / 10) // a glyph the font lacks: an average width
		if i, err := goRegular.GlyphIndex(&buf, r); err == nil && i != 0 {
			if a, err := goRegular.GlyphAdvance(&buf, i, ppem, 0); err == nil {
				adv = a
			}
		}
		w += adv
	}
	return float64(w) / 64 * measureSlack
}

// bar is one bar of a chart.
type bar struct {
	X, Y, W, H float64
	Class      string // CSS classes: the series, and partial for a year not over
	Label      string // its value, for the title (tooltip) and screen readers
}

// mark is a reference mark on a chart.
type mark struct {
	X, Y  float64
	Label string
	Over  bool // above the plot: drawn at its top edge
}

// tick is an axis label.
type tick struct {
	X, Y  float64
	Label string
}

// barChart is a bar chart with its legend and axes, drawn in one frame.
type barChart struct {
	W, H          float64
	AxisX, AxisX2 float64 // the x axis, at AxisY
	AxisY         float64
	Bars          []bar
	Marks         []mark
	XTicks        []tick
	YTicks        []tick
	Legend        []legend
	Empty         bool
	Summary       string // the data in words, for screen readers
	// OffScale: reference marks dwarf the bars (a small ledger beside the
	// national figures); the plot is the bars' scale, the marks above it
	// are drawn at its top edge.
	OffScale bool
}

// barCharts is a chart in both frames.
type barCharts struct{ Wide, Narrow barChart }

type legend struct{ Class, Label string }

// series is one kind of bar.
type series struct{ Class, Label string }

// group is one slot of a bar chart: a bar per series, side by side.
type group struct {
	Label   string
	Partial bool              // a period not over: its bars are drawn lighter
	Values  []decimal.Decimal // one per series
	Titles  []string          // one per series
	Marks   []groupMark
}

// groupMark is a reference value within a group's slot: At is where in
// the slot (0 to 1).
type groupMark struct {
	At    float64
	Value decimal.Decimal
	Title string
}

// scale maps values to heights: the top of the plot is the largest value
// rounded up to a round number.
type scale struct {
	max   decimal.Decimal
	plotH float64
}

func newScale(max decimal.Decimal, plotH float64) scale {
	if max.Sign() <= 0 {
		return scale{decimal.NewFromInt(1), plotH}
	}
	step := decimal.NewFromInt(1)
	for step.Mul(decimal.NewFromInt(10)).LessThan(max) {
		step = step.Mul(decimal.NewFromInt(10))
	}
	return scale{max.Div(step).Ceil().Mul(step), plotH}
}

func (s scale) height(v decimal.Decimal) float64 {
	if v.Sign() <= 0 {
		return 0
	}
	f, _ := v.Div(s.max).Mul(decimal.NewFromFloat(s.plotH)).Float64() // drawing only
	return f
}

// chartScale is the scale of a chart's groups: their bars and marks. A
// ledger's own bars are drawn at their own scale: reference marks more
// than four times the tallest bar (the national figures beside a small
// ledger) would flatten them; offScale, those marks go to the top edge.
func chartScale(gs []group, plotH float64) (sc scale, offScale bool) {
	var maxBar, maxMark decimal.Decimal
	for _, g := range gs {
		for _, v := range g.Values {
			maxBar = decimal.Max(maxBar, v)
		}
		for _, m := range g.Marks {
			maxMark = decimal.Max(maxMark, m.Value)
		}
	}
	max := decimal.Max(maxBar, maxMark)
	if maxBar.Sign() > 0 && maxMark.GreaterThan(maxBar.Mul(decimal.NewFromInt(4))) {
		max, offScale = maxBar, true
	}
	return newScale(max, plotH), offScale
}

// draw lays groups out in a frame.
func draw(f frame, ss []series, gs []group, yLabel func(decimal.Decimal) string, partialLabel string) barChart {
	c := barChart{W: f.W, H: f.H}
	if len(gs) == 0 {
		c.Empty = true
		return c
	}
	var sc scale
	sc, c.OffScale = chartScale(gs, f.PlotH)
	var yTicks []string
	left := 0.0
	for i := 0; i <= 4; i++ {
		l := yLabel(sc.max.Mul(decimal.NewFromInt(int64(i))).Div(decimal.NewFromInt(4)))
		yTicks = append(yTicks, l)
		left = math.Max(left, textWidth(l))
	}
	plotX := left + 10
	plotW := f.W - plotX - f.Right
	base := f.Top + f.PlotH
	c.AxisX, c.AxisX2, c.AxisY = plotX, plotX+plotW, base
	for i, l := range yTicks {
		c.YTicks = append(c.YTicks, tick{X: plotX - 6, Y: base - f.PlotH*float64(i)/4, Label: l})
	}
	slot := plotW / float64(len(gs))
	// x labels: every k-th, k the fewest that keeps them apart.
	widest := 0.0
	for _, g := range gs {
		widest = math.Max(widest, textWidth(g.Label))
	}
	every := int(math.Max(1, math.Ceil((widest+8)/slot)))
	barW := slot * 0.7 / float64(len(ss))
	for i, g := range gs {
		x0 := plotX + float64(i)*slot + slot*0.15
		for j, v := range g.Values {
			h := sc.height(v)
			class := ss[j].Class
			if g.Partial {
				class += " partial"
			}
			c.Bars = append(c.Bars, bar{X: x0 + float64(j)*barW, Y: base - h, W: barW, H: h, Class: class, Label: g.Titles[j]})
			c.Summary += g.Titles[j] + "; "
		}
		for _, m := range g.Marks {
			h, over := sc.height(m.Value), false
			if h > f.PlotH {
				h, over = f.PlotH, true
			}
			c.Marks = append(c.Marks, mark{X: plotX + float64(i)*slot + slot*m.At, Y: base - h, Label: m.Title, Over: over})
			c.Summary += m.Title + "; "
		}
		if i%every == 0 {
			c.XTicks = append(c.XTicks, tick{X: x0 + slot*0.35, Y: base + 16, Label: g.Label})
		}
	}
	for _, s := range ss {
		c.Legend = append(c.Legend, legend(s))
	}
	if slices.ContainsFunc(gs, func(g group) bool { return g.Partial }) {
		c.Legend = append(c.Legend, legend{"partial", partialLabel})
	}
	return c
}

// both draws a chart in the wide and the narrow frame.
func both(ss []series, gs []group, yLabel func(decimal.Decimal) string, partialLabel string, marks ...legend) barCharts {
	out := barCharts{draw(wideFrame, ss, gs, yLabel, partialLabel), draw(narrowFrame, ss, gs, yLabel, partialLabel)}
	for _, m := range marks {
		if !out.Wide.Empty {
			out.Wide.Legend = append(out.Wide.Legend, m)
			out.Narrow.Legend = append(out.Narrow.Legend, m)
		}
	}
	return out
}

// amountsChart: the amounts decided per calendar year, a bar per scheme
// side by side, the CPTS bar with the national amount published for CPTS
// as its mark (the aid is not part of that figure). The current year is
// partial.
func amountsChart(totals []query.Total, lang string, today domain.Date) barCharts {
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
	published := map[int]domain.Money{}
	for _, p := range cpts.PublishedAmounts() {
		published[p.Year] = p.Amount
	}
	ss := []series{{"s-cpts", translate(lang, "cpts")}, {"s-assistant", translate(lang, "assistant")}}
	thisYear, _, _ := today.YMD()
	var gs []group
	for _, y := range years {
		g := group{Label: strconv.Itoa(y), Partial: y == thisYear}
		for _, s := range []string{cpts.Scheme, "assistant"} {
			m := byYear[y][s]
			g.Values = append(g.Values, m.Decimal())
			g.Titles = append(g.Titles, fmt.Sprintf("%d, %s : %s", y, translate(lang, s), formatMoney(lang, m)))
		}
		if g.Partial {
			g.Titles[0] += " (" + translate(lang, "partial_year") + ")"
			g.Titles[1] += " (" + translate(lang, "partial_year") + ")"
		}
		if p, ok := published[y]; ok {
			g.Marks = []groupMark{{At: 0.15 + 0.35/2, Value: p.Decimal(),
				Title: fmt.Sprintf("%d, %s : %s", y, translate(lang, "cpts_published"), formatMoney(lang, p))}}
		}
		gs = append(gs, g)
	}
	return both(ss, gs, func(v decimal.Decimal) string { return compactEuros(lang, v) }, translate(lang, "partial_year"),
		legend{"mark", translate(lang, "cpts_published")})
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
	s := v.Div(div).Round(1)
	if lang == "en" {
		return "€" + s.String() + unit
	}
	return formatDecimal(lang, s) + "\u00a0" + unit + "€"
}

// signedChart: CPTS contracts signed by the end of each year (cumulative),
// with the published counts as reference marks at their dates.
func signedChart(signedBy map[int]int, lang string, today domain.Date) barCharts {
	if len(signedBy) == 0 {
		return barCharts{barChart{Empty: true}, barChart{Empty: true}}
	}
	var years []int
	for y := range signedBy {
		years = append(years, y)
	}
	published := cpts.PublishedVolumes()
	for _, p := range published {
		if y, _, _ := p.On.YMD(); !slices.Contains(years, y) {
			years = append(years, y)
		}
	}
	slices.Sort(years)
	thisYear, _, _ := today.YMD()
	var gs []group
	total := 0
	for y := years[0]; y <= years[len(years)-1]; y++ {
		total += signedBy[y]
		g := group{Label: strconv.Itoa(y), Partial: y == thisYear, Values: []decimal.Decimal{decimal.NewFromInt(int64(total))},
			Titles: []string{fmt.Sprintf("%d : %s", y, formatInt(lang, total))}}
		for _, p := range published {
			if py, m, _ := p.On.YMD(); py == y {
				source, _, _ := strings.Cut(p.Source, ",")
				g.Marks = append(g.Marks, groupMark{At: float64(m) / 12, Value: decimal.NewFromInt(int64(p.Count)),
					Title: fmt.Sprintf("%s %s : %s (%s)", translate(lang, "published_on"), formatDate(lang, p.On), formatInt(lang, p.Count), source)})
			}
		}
		gs = append(gs, g)
	}
	return both([]series{{"s-cpts", translate(lang, "in_ledger")}}, gs, func(v decimal.Decimal) string { return formatInt(lang, int(v.IntPart())) },
		translate(lang, "partial_year"), legend{"mark", translate(lang, "published")})
}

// monthsChart: what falls due per month.
func monthsChart(months []month, lang string) barCharts {
	var gs []group
	for _, m := range months {
		gs = append(gs, group{Label: monthShort(lang, m.Key), Values: []decimal.Decimal{m.Total.Decimal()},
			Titles: []string{monthName(lang, m.Key) + " : " + formatMoney(lang, m.Total)}})
	}
	c := both([]series{{"s-cpts", translate(lang, "due")}}, gs, func(v decimal.Decimal) string { return compactEuros(lang, v) }, "")
	c.Wide.Legend, c.Narrow.Legend = nil, nil
	return c
}

// deadlineChart places a CPTS contract's deadlines and the dates they were
// met on one time axis, a row per mission and kind: wide, the labels in a
// column sized to the longest; narrow, each label above its row.
type deadlineChart struct {
	W, Height float64
	Rows      []deadlineRow
	Ticks     []tick
	GridTop   float64
	Empty     bool
}

type deadlineCharts struct{ Wide, Narrow deadlineChart }

type deadlineRow struct {
	Y, LabelX, LabelY float64
	Label             string
	Anchor            string // of the label: end (wide) or start (narrow)
	DeadlineX, DoneX  float64
	Done              bool
	Late              bool
	Title             string
}

func newDeadlineCharts(ds []query.Deadline, signed domain.Date, lang string) deadlineCharts {
	return deadlineCharts{drawDeadlines(ds, signed, lang, false), drawDeadlines(ds, signed, lang, true)}
}

func drawDeadlines(ds []query.Deadline, signed domain.Date, lang string, narrow bool) deadlineChart {
	c := deadlineChart{W: wideFrame.W}
	if narrow {
		c.W = narrowFrame.W
	}
	if len(ds) == 0 || signed.IsZero() {
		c.Empty = true
		return c
	}
	// The axis covers every deadline and every date a deadline was met: a
	// mission taken up later (crisis, from 2022-04-01, by a contract of
	// 2019) has its deadline years after the signature.
	start, end := signed, signed.AddMonths(30)
	for _, d := range ds {
		for _, on := range []domain.Date{d.Deadline, d.DoneOn} {
			if !on.IsZero() && !on.Before(end) {
				end = on.AddDays(30)
			}
		}
	}
	labels := make([]string, len(ds))
	widest := 0.0
	for i, d := range ds {
		labels[i] = translate(lang, d.Mission) + " · " + translate(lang, d.Kind)
		widest = math.Max(widest, textWidth(labels[i]))
	}
	var ticks []string
	for m := 0; !signed.AddMonths(m).After(end); m += 6 {
		ticks = append(ticks, fmt.Sprintf("%d %s", m, translate(lang, "months")))
	}
	// The axis starts half its first label in, ends half its last label
	// before the edge; wide, after the column of labels.
	x0 := textWidth(ticks[0])/2 + 4
	if !narrow {
		x0 = math.Max(x0, widest+16)
	}
	x1 := c.W - textWidth(ticks[len(ticks)-1])/2 - 4
	days := float64(start.DaysUntil(end))
	x := func(d domain.Date) float64 { return x0 + float64(start.DaysUntil(d))/days*(x1-x0) }
	rowH, y := 22.0, 20.0
	if narrow {
		rowH, y = 36, 30
	}
	c.GridTop = 8
	for i, d := range ds {
		row := deadlineRow{Y: y + float64(i)*rowH, Label: labels[i], DeadlineX: x(d.Deadline), Anchor: "end", LabelX: x0 - 10}
		row.LabelY = row.Y
		if narrow {
			row.Anchor, row.LabelX, row.LabelY = "start", 4, row.Y-14
		}
		row.Title = fmt.Sprintf("%s — %s %s %s : %s", row.Label, translate(lang, "deadline"), formatInt(lang, d.Months), translate(lang, "months"), formatDate(lang, d.Deadline))
		if !d.DoneOn.IsZero() {
			row.Done, row.DoneX, row.Late = true, x(d.DoneOn), d.DoneOn.After(d.Deadline)
			row.Title += ", " + translate(lang, "done_on") + " " + formatDate(lang, d.DoneOn)
		}
		c.Rows = append(c.Rows, row)
	}
	c.Height = y + float64(len(ds))*rowH + 14
	for i, l := range ticks {
		c.Ticks = append(c.Ticks, tick{X: x(signed.AddMonths(6 * i)), Y: c.Height - 6, Label: l})
	}
	return c
}
