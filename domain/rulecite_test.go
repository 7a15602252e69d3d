package domain_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
)

// Every payment's rule cites sections of docs/domain.md that exist: a
// heading numbered so ("### 2.4 Payment calendar", "# 4. Corrections").
func TestRulesCiteSectionsThatExist(t *testing.T) {
	doc, err := os.ReadFile("../docs/domain.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ ([0-9]+(?:\.[0-9]+)*)\.? `).FindAllStringSubmatch(string(doc), -1) {
		sections[m[1]] = true
	}
	cite := regexp.MustCompile(`§([0-9]+(?:\.[0-9]+)*)`)
	rules := append(cpts.RuleTexts(), assistant.RuleTexts()...)
	if len(rules) < 10 {
		t.Fatalf("only %d rules", len(rules))
	}
	for _, r := range rules {
		if !strings.Contains(r, "docs/domain.md §") {
			t.Errorf("rule %q cites no section of docs/domain.md", r)
		}
		for _, m := range cite.FindAllStringSubmatch(r, -1) {
			if !sections[m[1]] {
				t.Errorf("rule %q cites §%s, which docs/domain.md does not have", r, m[1])
			}
		}
	}
}
