package httpapi

import (
	"bytes"
	"os"
	"regexp"
	"testing"
)

// Every problem code of the API is in the table of docs/api.md.
func TestEveryProblemCodeIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("problem.go")
	if err != nil {
		t.Fatal(err)
	}
	codes := regexp.MustCompile(`(?m)^\s*Code\w+\s*=\s*"([a-z_]+)"`).FindAllSubmatch(src, -1)
	if len(codes) < 8 {
		t.Fatalf("found %d codes: the catalogue moved?", len(codes))
	}
	for _, m := range codes {
		if !bytes.Contains(doc, []byte("| `"+string(m[1])+"` |")) {
			t.Errorf("problem code %s is not in the table of docs/api.md", m[1])
		}
	}
}
