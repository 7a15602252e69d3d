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
