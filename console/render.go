package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/domain"
)

// view is what every page's template gets.
type view struct {
	Lang     string // fr or en
	Title    string // a message key
	Identity auth.Identity
	CSRF     string
	Path     string
	Data     any
}

// Can tells the template whether the identity has a right.
func (v view) Can(right string) bool { return v.Identity.Role.Can(auth.Right(right)) }

type errorView struct{ Message string }

// chartArgs is what the barchart template takes.
type chartArgs struct {
	Lang, Caption string
	Chart         barCharts
}

// svgArgs is one frame of a chart (wide or narrow).
type svgArgs struct {
	Caption, Class string
	Chart          any
}

type loginView struct {
	Next   string
	Failed bool
}

var matcher = language.NewMatcher([]language.Tag{language.French, language.English})

// langOf is the page's language: French, the users' language, unless the
// browser prefers English.
func langOf(r *http.Request) string {
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return "fr"
	}
	tag, _, _ := matcher.Match(tags...)
	if base, _ := tag.Base(); base.String() == "en" {
		return "en"
	}
	return "fr"
}

// parseTemplates parses each page with the layout.
func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	base := template.New("layout").Funcs(funcs)
	if _, err := base.ParseFS(templateFiles, "templates/layout.html", "templates/charts.html"); err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || name == "charts" {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(templateFiles, n); err != nil {
			return nil, fmt.Errorf("console: %s: %w", n, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render executes a page into a buffer first, so that a failure is an
// error page rather than half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	var b bytes.Buffer
	if v.Lang == "" {
		v.Lang = langOf(r)
	}
	if err := c.pages[page].ExecuteTemplate(&b, "layout", v); err != nil {
		c.log.Error("console template", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Language", v.Lang)
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

var funcs = template.FuncMap{
	"t":        translate,
	"money":    formatMoney,
	"amount":   formatAmountText,
	"date":     dateHTML,
	"time":     timeHTML,
	"month":    monthName,
	"ago":      agoText,
	"formula":  formulaText,
	"withheld": withheldText,
	"event":    eventText,
	"json":     prettyJSON,
	"recorded": recordedHTML,
	"fill":     fillMessage,
	"short":    func(s string) string { return s[:min(16, len(s))] },
	"add":      func(a, b int) int { return a + b },
	"num":      formatInt,
	"int64":    func(n int64) int { return int(n) },
	"list":     func(s ...string) []string { return s },
	"public":   publicSource,
	"chart":    func(lang, caption string, c barCharts) chartArgs { return chartArgs{lang, caption, c} },
	"dchart": func(lang string, c deadlineCharts) struct {
		Lang  string
		Chart deadlineCharts
	} {
		return struct {
			Lang  string
			Chart deadlineCharts
		}{lang, c}
	},
	"svgArgs": func(caption, class string, c any) svgArgs { return svgArgs{caption, class, c} },
	"query": func(pairs ...string) template.URL { // a query string from name/value pairs, skipping empty values
		var parts []string
		for i := 0; i+1 < len(pairs); i += 2 {
			if pairs[i+1] != "" {
				parts = append(parts, pairs[i]+"="+template.URLQueryEscaper(pairs[i+1]))
			}
		}
		return template.URL(strings.Join(parts, "&"))
	},
}

// translate returns the message key in the language, or the key itself.
func translate(lang, key string) string {
	if m, ok := messages[key]; ok {
		if lang == "en" {
			return m[1]
		}
		return m[0]
	}
	return key
}

// formatAmountText writes an amount given as decimal text ("15000.00") as
// formatMoney does; text that is not one is shown as is.
func formatAmountText(lang, s string) string {
	m, err := domain.ParseMoney(s)
	if err != nil {
		return s
	}
	return formatMoney(lang, m)
}

// formatMoney writes an amount as the language writes it: 60 000,00 € in
// French (narrow no-break space between thousands, no-break space before
// the euro sign), €60,000.00 in English. The digits are the decimal's own:
// never through a float.
func formatMoney(lang string, m domain.Money) string {
	s := m.String() // -1234567.89
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, cents, _ := strings.Cut(s, ".")
	sep, dec := ",", "."
	if lang != "en" {
		sep, dec = "\u202f", ","
	}
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(d)
	}
	out := b.String() + dec + cents
	if lang == "en" {
		out = "€" + out
	} else {
		out += "\u00a0€"
	}
	if neg {
		out = "−" + out
	}
	return out
}

// formatInt writes a whole number with the language's thousands
// separator.
func formatInt(lang string, n int) string {
	s := strconv.Itoa(n)
	sep := ","
	if lang != "en" {
		sep = "\u202f"
	}
	var b strings.Builder
	for i, d := range s {
		if i > 0 && d != '-' && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteString(sep)
		}
		b.WriteRune(d)
	}
	return b.String()
}

// formatDate writes a date JJ/MM/AAAA in French, ISO in English.
func formatDate(lang string, d domain.Date) string {
	if d.IsZero() {
		return "—"
	}
	if lang == "en" {
		return d.String()
	}
	y, m, day := d.YMD()
	return fmt.Sprintf("%02d/%02d/%04d", day, m, y)
}

// formatTime writes a recorded time in UTC, to the second.
func formatTime(lang string, t time.Time) string {
	if lang == "en" {
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return t.UTC().Format("02/01/2006 à 15:04:05 UTC")
}

// dateHTML is a date for a page: written as the language writes it, the
// ISO date in the datetime attribute of its <time> element.
func dateHTML(lang string, d domain.Date) template.HTML {
	if d.IsZero() {
		return "—"
	}
	return template.HTML(`<time datetime="` + d.String() + `">` + template.HTMLEscapeString(formatDate(lang, d)) + `</time>`)
}

// timeHTML is a recorded time for a page, as dateHTML.
func timeHTML(lang string, t time.Time) template.HTML {
	return template.HTML(`<time datetime="` + t.UTC().Format(time.RFC3339) + `">` + template.HTMLEscapeString(formatTime(lang, t)) + `</time>`)
}

var (
	monthsFR      = [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
	monthsShortFR = [12]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}
)

// monthName writes a month (YYYY-MM): septembre 2026, September 2026.
func monthName(lang, key string) string {
	t, err := time.Parse("2006-01", key)
	if err != nil {
		return key
	}
	if lang == "en" {
		return t.Format("January 2006")
	}
	return monthsFR[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// monthShort writes a month for an axis: sept. 2026, Sep 2026.
func monthShort(lang, key string) string {
	t, err := time.Parse("2006-01", key)
	if err != nil {
		return key
	}
	if lang == "en" {
		return t.Format("Jan 2006")
	}
	return monthsShortFR[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// agoText says how long ago, in words: à l'instant, il y a 5 minutes,
// il y a 3 heures, il y a 2 jours.
func agoText(lang string, d time.Duration) string {
	type unit struct {
		size                         time.Duration
		frOne, frMany, enOne, enMany string
	}
	units := []unit{{24 * time.Hour, "jour", "jours", "day", "days"}, {time.Hour, "heure", "heures", "hour", "hours"},
		{time.Minute, "minute", "minutes", "minute", "minutes"}}
	for _, u := range units {
		n := int(d / u.size)
		if n < 1 {
			continue
		}
		if lang == "en" {
			return formatInt(lang, n) + " " + map[bool]string{true: u.enOne, false: u.enMany}[n == 1] + " ago"
		}
		return "il y a " + formatInt(lang, n) + " " + map[bool]string{true: u.frOne, false: u.frMany}[n == 1]
	}
	if lang == "en" {
		return "just now"
	}
	return "à l'instant"
}

// recordedHTML is an event's recorded time (as the audit trail keeps it,
// RFC 3339 to the microsecond) for a page.
func recordedHTML(lang, s string) template.HTML {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return template.HTML(template.HTMLEscapeString(s))
	}
	return timeHTML(lang, t)
}

// fillMessage is a message with {name} placeholders filled by name, value
// pairs; a value is text (escaped) or HTML made by the console.
func fillMessage(lang, key string, pairs ...any) template.HTML {
	values := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		name, _ := pairs[i].(string)
		switch v := pairs[i+1].(type) {
		case template.HTML:
			values[name] = string(v)
		default:
			values[name] = template.HTMLEscapeString(fmt.Sprint(v))
		}
	}
	msg := template.HTMLEscapeString(translate(lang, key))
	return template.HTML(domain.Fill(msg, func(name string) string { return values[name] }))
}

// seedRef is the project's own reference to a source document it was
// given ("(seed 004)"): meaningful in docs/domain.md, not to a reader of
// the console, who sees the document's own description beside it.
var seedRef = regexp.MustCompile(`\s*\(seed \d{3}\)`)

// publicSource is a rulebook's source as the console shows it.
func publicSource(s string) string { return seedRef.ReplaceAllString(s, "") }
