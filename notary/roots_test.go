package notary_test

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/notary"
)

// The accumulator's root is tlog's tree hash at every size, from the empty
// tree to one past several powers of two (the joins of every shape).
func TestFrontierIsTreeHash(t *testing.T) {
	const leaves = 600
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	var acc notary.Frontier
	for n := int64(0); n <= leaves; n++ {
		want, err := tlog.TreeHash(n, reader)
		if err != nil {
			t.Fatal(err)
		}
		got, err := acc.Root()
		if err != nil || got != want || acc.Size() != n {
			t.Fatalf("%d leaves: root %x (size %d, %v), tlog's %x", n, got, acc.Size(), err, want)
		}
		var rec [8]byte
		binary.BigEndian.PutUint64(rec[:], uint64(n))
		data := sha256.Sum256(rec[:])
		add, err := tlog.StoredHashes(n, data[:], reader)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, add...)
		acc.Append(tlog.RecordHash(data[:]))
		// A frontier made again from its peaks goes on the same.
		again, err := notary.FrontierOf(acc.Size(), acc.Peaks())
		if err != nil {
			t.Fatal(err)
		}
		acc = *again
	}
	if _, err := notary.FrontierOf(5, make([]tlog.Hash, 3)); err == nil {
		t.Fatal("a tree of 5 leaves made from 3 peaks")
	}
}
