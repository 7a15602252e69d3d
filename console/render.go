package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/domain"
	"golang.org/x/text/language"
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
	Chart         barChart
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
	"t":     translate,
	"money": formatMoney,
	"date":  formatDate,
	"time":  formatTime,
	"short": func(s string) string { return s[:min(16, len(s))] },
	"add":   func(a, b int) int { return a + b },
	"num":   formatInt,
	"list":  func(s ...string) []string { return s },
	"chart": func(lang, caption string, c barChart) chartArgs { return chartArgs{lang, caption, c} },
	"dchart": func(lang string, c deadlineChart) struct {
		Lang  string
		Chart deadlineChart
	} {
		return struct {
			Lang  string
			Chart deadlineChart
		}{lang, c}
	},
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
	return t.UTC().Format("02/01/2006 15:04:05 UTC")
}
