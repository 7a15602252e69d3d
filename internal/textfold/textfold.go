// Package textfold folds text for searching it the French way: case and
// accents do not matter, nor the hyphens and apostrophes of place names.
// "etang", "ÉTANG" and "Étang" all find "CPTS Étang"; "ile de france"
// finds "Île-de-France"; "l'oree" finds "L’Orée". The read models keep
// each name folded once, when it is written; a query folds what was typed
// the same way and compares the two.
package textfold

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// ligatures are the letters that decomposition leaves whole: a search
// typed without them still finds them.
var ligatures = strings.NewReplacer("œ", "oe", "Œ", "oe", "æ", "ae", "Æ", "ae")

// Fold returns s with Unicode case folding (ß → ss), accents removed (NFD,
// combining marks dropped), œ and æ spelled out, and every run of spaces,
// hyphens, apostrophes and other punctuation made one space.
func Fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), cases.Fold(), norm.NFC)
	folded, _, err := transform.String(t, ligatures.Replace(s))
	if err != nil {
		folded = strings.ToLower(s) // not reached for valid UTF-8; a name is
	}
	var b strings.Builder
	space := false
	for _, r := range folded {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			space = false
			continue
		}
		space = true
	}
	return b.String()
}

// Suggest returns what s may have meant among candidates: those equal to
// it folded, else those whose folded form contains it ("Loiret" → "CPAM du
// Loiret"), else the nearest by edit distance over the folded forms; at
// most three, in the candidates' order.
func Suggest(s string, candidates []string) []string {
	key := Fold(s)
	var equal, containing []string
	best, bestDist := "", -1
	for _, c := range candidates {
		fc := Fold(c)
		switch {
		case fc == key:
			equal = append(equal, c)
		case key != "" && strings.Contains(fc, key):
			containing = append(containing, c)
		}
		if d := distance(key, fc); bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	switch {
	case len(equal) > 0:
		return equal[:min(3, len(equal))]
	case len(containing) > 0:
		return containing[:min(3, len(containing))]
	case best != "":
		return []string{best}
	}
	return nil
}

// distance is the Levenshtein distance between a and b, in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}
