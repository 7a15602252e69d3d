package main

import (
	"strings"

	"github.com/cptsledger/ledger/notary"
)

// filesFlag collects a repeated flag's values.
type filesFlag []string

func (f *filesFlag) String() string     { return strings.Join(*f, ",") }
func (f *filesFlag) Set(v string) error { *f = append(*f, v); return nil }

// openTree opens the notary's tree in the data directory.
func (e *env) openTree() (*notary.Tree, error) {
	if err := e.requireLedger(); err != nil {
		return nil, err
	}
	return notary.Open(e.ctx, e.global.data)
}

// hasTree tells whether the data directory holds a notary's tree.
func (e *env) hasTree() bool { return notary.Exists(e.global.data) }
