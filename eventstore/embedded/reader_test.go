package embedded

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/cptsledger/ledger/eventstore"
)

// The pool lends at most max readers at once: the next caller waits for one
// to come back (or for its context), and readers come back to an idle list.
func TestReaderPoolIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := newReaderPool(path, 2)
	ctx := context.Background()
	a, err := p.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := p.get(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third reader of a pool of two: %v, want to wait until the deadline", err)
	}
	p.put(a)
	c, err := p.get(ctx)
	if err != nil || c != a {
		t.Fatalf("after a reader came back: %p, %v; want the same reader %p", c, err, a)
	}
	if head, err := c.readHead(); err != nil || head != 0 {
		t.Fatalf("head of an empty store: %d, %v", head, err)
	}
	p.put(b)
	p.put(c)
	p.close()
	if _, err := p.get(ctx); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
}
