package embedded

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/cptsledger/ledger/eventstore"
)

// An append whose request reaches the queue after the writer took its last
// ones (what the select in Append may choose while Close runs) returns
// ErrClosed instead of waiting for ever for an answer.
func TestRequestQueuedAfterTheWriterReturned(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	req := &appendReq{ctx: context.Background(), stream: "late", reply: make(chan appendReply, 1)}
	s.reqs <- req
	answered := make(chan error, 1)
	go func() {
		_, err := s.await(context.Background(), req)
		answered <- err
	}()
	select {
	case err := <-answered:
		if !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("a request queued after the writer returned: %v, want ErrClosed", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a request queued after the writer returned waited 30 s for an answer")
	}
}
