package console

import (
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/cptsledger/ledger/domain"
)

// EnglishOnlyWords lists the words of the console's English texts that
// none of its French texts holds (three letters or more, lower case): a
// French page holding one speaks English.
func EnglishOnlyWords() []string {
	en, fr := map[string]bool{}, map[string]bool{}
	add := func(set map[string]bool, s string) {
		s = domain.Fill(s, func(string) string { return " " })
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) }) {
			if len([]rune(w)) >= 3 {
				set[strings.ToLower(w)] = true
			}
		}
	}
	for _, catalogue := range []map[string][2]string{messages, formulas, withholdings, eventWords} {
		for _, m := range catalogue {
			add(fr, m[0])
			add(en, m[1])
		}
	}
	for w := range fr {
		delete(en, w)
	}
	return slices.Sorted(maps.Keys(en))
}
