package schemetest_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/cptsledger/ledger/console"
	"github.com/cptsledger/ledger/docs"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/domain/schemetest"
	"go.yaml.in/yaml/v3"
)

func lines(t *testing.T, paths ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Split(bytes.TrimSpace(raw), []byte("\n"))...)
	}
	return out
}

// asyncAPIMessages are the messages docs/asyncapi.yaml describes.
func asyncAPIMessages(t *testing.T) map[string]bool {
	t.Helper()
	var doc struct {
		Components struct {
			Messages map[string]any `yaml:"messages"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(docs.AsyncAPI, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for name := range doc.Components.Messages {
		out[name] = true
	}
	return out
}

// Both schemes pass the conformance suite on their worked lifecycles (the
// CPTS under the rules the examples were computed for).
func TestSchemes(t *testing.T) {
	messages := asyncAPIMessages(t)
	inAsyncAPI := func(typ string) bool { return messages[typ] }
	t.Run("cpts", func(t *testing.T) {
		schemetest.Run(t, schemetest.Config{Scheme: cpts.Examples(),
			Histories: lines(t, "../cpts/testdata/aci-lifecycles.jsonl", "../cpts/testdata/aci-corrections.jsonl", "testdata/cpts-corrected.jsonl"),
			Words:     console.HasWords, AsyncAPI: inAsyncAPI})
	})
	t.Run("cpts-crisis", func(t *testing.T) {
		schemetest.Run(t, schemetest.Config{Scheme: cpts.Default(), Histories: lines(t, "../cpts/testdata/crisis-cpts.jsonl"),
			Words: console.HasWords, AsyncAPI: inAsyncAPI})
	})
	t.Run("assistant", func(t *testing.T) {
		schemetest.Run(t, schemetest.Config{Scheme: assistant.Default(),
			Histories: lines(t, "../assistant/testdata/aid-lifecycles.jsonl", "testdata/aid-corrected.jsonl", "../assistant/testdata/aid-2024-lifecycles.jsonl"),
			Words:     console.HasWords, AsyncAPI: inAsyncAPI})
	})
}
