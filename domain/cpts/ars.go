package cpts

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/cptsledger/ledger/domain"
	"golang.org/x/text/unicode/norm"
)

// The regional health agencies (ARS) are reference data: eighteen, under
// their official names, held as data (reference/ars.json). A contract's
// ARS and a crisis recognition's decide which contracts a crisis reaches,
// so free text would let a slip ("ARS grand est", a no-break space, a
// Cyrillic "А") record a crisis that reaches nobody, with nothing refused.
// A command's ARS is read through ParseARS: normalised (Unicode NFC,
// spaces, case, apostrophes, the "ARS" prefix optional) to its official
// spelling; anything else is refused, naming the closest official one.
// Events already recorded with another spelling keep theirs: only what is
// newly written is checked.

//go:embed reference/ars.json
var arsJSON []byte

var agencies = func() (names []string) {
	var doc struct {
		Agencies []struct {
			Name string `json:"name"`
		} `json:"agencies"`
	}
	if err := json.Unmarshal(arsJSON, &doc); err != nil {
		panic("cpts: reference/ars.json: " + err.Error())
	}
	for _, a := range doc.Agencies {
		names = append(names, a.Name)
	}
	return names
}()

// Agencies returns the official names of the regional health agencies.
func Agencies() []string { return append([]string(nil), agencies...) }

// arsKey is the form two spellings of one agency share: NFC, every run of
// spaces (no-break ones included) one space, trimmed, case folded, the
// typographic apostrophe the typewriter one, and without the "ARS "
// prefix.
func arsKey(s string) string {
	s = norm.NFC.String(s)
	s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	s = strings.ToLower(strings.ReplaceAll(s, "’", "'"))
	return strings.TrimPrefix(s, "ars ")
}

// ParseARS returns the official name of the agency s names, or false with
// the closest official name.
func ParseARS(s string) (official string, ok bool, closest string) {
	key := arsKey(s)
	best, bestDist := "", -1
	for _, name := range agencies {
		k := arsKey(name)
		if k == key {
			return name, true, name
		}
		if d := levenshtein(key, k); bestDist < 0 || d < bestDist {
			best, bestDist = name, d
		}
	}
	return "", false, best
}

// SameARS tells whether two recorded ARS name one agency: equal once
// normalised, so that a contract recorded before the ARS were reference
// data, under another spelling, is reached by its agency's crises.
func SameARS(a, b string) bool { return a == b || arsKey(a) == arsKey(b) }

// checkARS records a violation of field when s is no agency, and returns
// the official spelling (s itself when refused).
func checkARS(f domain.Fields, field, s string) string {
	if !f.Name(field, s) {
		return s
	}
	official, ok, closest := ParseARS(s)
	if !ok {
		f.V.Add(CodeUnknownARS, field, fmt.Sprintf("%q is not one of the %d regional health agencies: did you mean %q? (docs/domain.md lists them)", s, len(agencies), closest))
		return s
	}
	return official
}

// levenshtein is the edit distance between a and b, in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
