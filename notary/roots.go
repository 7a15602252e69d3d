package notary

import (
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// Frontier grows a Merkle tree leaf by leaf and gives its root at any size:
// the roots of its perfect subtrees, largest first (a tree of n leaves has
// one per bit set in n). It is what a compact range from 0 holds, kept as
// tlog hashes and combined with tlog.NodeHash: verify appends a million
// leaves and the generic range allocated a hasher and two slices for each
// parent (a sixth of the checking goroutine's time). The roots it gives are
// held to tlog.TreeHash for every size up to a few hundred leaves
// (TestFrontierIsTreeHash). The read-model check keeps one to know, at its
// next run, that the log it folded is still the log's beginning.
type Frontier struct {
	n     int64
	peaks []tlog.Hash
}

// FrontierOf returns the frontier of a tree of size leaves from its peaks
// (Peaks): one per bit set in size, or an error.
func FrontierOf(size int64, peaks []tlog.Hash) (*Frontier, error) {
	if size < 0 || bits.OnesCount64(uint64(size)) != len(peaks) {
		return nil, fmt.Errorf("notary: a tree of %d leaves has %d peaks, not %d", size, bits.OnesCount64(uint64(max(size, 0))), len(peaks))
	}
	return &Frontier{n: size, peaks: append([]tlog.Hash(nil), peaks...)}, nil
}

// Append adds the leaf hash h: it joins every perfect subtree of the same
// size to its left, one per trailing one bit of the size before it.
func (a *Frontier) Append(h tlog.Hash) {
	for n := a.n; n&1 == 1; n >>= 1 {
		last := len(a.peaks) - 1
		h = tlog.NodeHash(a.peaks[last], h)
		a.peaks = a.peaks[:last]
	}
	a.peaks = append(a.peaks, h)
	a.n++
}

// Size is the number of leaves.
func (a *Frontier) Size() int64 { return a.n }

// Peaks are the roots of the perfect subtrees, largest first.
func (a *Frontier) Peaks() []tlog.Hash { return append([]tlog.Hash(nil), a.peaks...) }

// Root is the tree's root at its current size: the peaks joined from the
// smallest, on the right (RFC 9162 §2.1.1: the left subtree is the largest
// perfect one); the empty tree's is tlog.TreeHash(0).
func (a *Frontier) Root() (tlog.Hash, error) {
	if len(a.peaks) == 0 {
		return tlog.TreeHash(0, nil)
	}
	h := a.peaks[len(a.peaks)-1]
	for i := len(a.peaks) - 2; i >= 0; i-- {
		h = tlog.NodeHash(a.peaks[i], h)
	}
	return h, nil
}
