package app

import (
	"os"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
)

// BenchmarkCommandChecks measures what the seventh session added to every
// command's path before the store: the bound on business dates (a second
// reading of the line) and the command's print (the digest of its
// canonical wire form, and the format-1 digest of its decoded form), on a signature, the longest common command.
func BenchmarkCommandChecks(b *testing.B) {
	l := New(nil, Options{})
	raw, err := os.ReadFile("../examples/t2-contract.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	line := []byte(strings.SplitN(string(raw), "\n", 2)[0])
	cmd, err := l.opts.Schemes[0].DecodeCommand(line)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("date_bound", func(b *testing.B) {
		for b.Loop() {
			if err := l.checkAhead(line); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("digest", func(b *testing.B) {
		for b.Loop() {
			if _, err := domain.NewCommandPrint(line, cmd); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode_for_reference", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.opts.Schemes[0].DecodeCommand(line); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The byte search finds what the full reading finds: a date after the
// bound, also behind an escape, and lets the others through.
func TestMayHoldDateAfter(t *testing.T) {
	for line, want := range map[string]bool{
		`{"as_of":"2027-12-06"}`:                   false,
		`{"as_of":"2027-12-07"}`:                   true,
		`{"as_of":"\u0032099-12-01"}`:              true,
		`{"name":"CPTS","signed_on":"2020-01-15"}`: false,
		`{"as_of":"2099-12-01","x":1}`:             true,
	} {
		if got := mayHoldDateAfter([]byte(line), "2027-12-06"); got != want {
			t.Errorf("%s: %v, want %v", line, got, want)
		}
	}
}
