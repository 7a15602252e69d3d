package auth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTokensLifecycle(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	if _, err := s.Authenticate("lgr_nothing"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no tokens file: %v", err)
	}
	tok, err := s.Create(Identity{Name: "alice", Role: Agent, CPAM: "CPAM du Loiret"})
	if err != nil || !strings.HasPrefix(tok, "lgr_") || len(tok) < 40 {
		t.Fatalf("create: %q %v", tok, err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, FileName))
	if strings.Contains(string(raw), tok) || strings.Contains(string(raw), tok[4:]) {
		t.Fatal("the tokens file holds the token itself")
	}
	if st, _ := os.Stat(filepath.Join(dir, FileName)); st.Mode().Perm() != 0o600 {
		t.Fatalf("tokens file mode %v", st.Mode().Perm())
	}
	// Another process (the CLI) changes the file: this one sees it.
	other := Open(dir)
	id, err := other.Authenticate(tok)
	if err != nil || id != (Identity{Name: "alice", Role: Agent, CPAM: "CPAM du Loiret"}) {
		t.Fatalf("authenticate: %+v %v", id, err)
	}
	if _, err := other.Authenticate(tok + "x"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a wrong token: %v", err)
	}
	if _, err := s.Create(Identity{Name: "alice", Role: Finance}); err == nil || !strings.Contains(err.Error(), "issued a token already") {
		t.Fatalf("a second alice: %v", err)
	}
	if err := s.Revoke("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Authenticate(tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a revoked token: %v", err)
	}
	if err := s.Revoke("alice"); err == nil {
		t.Fatal("revoked twice")
	}
	// A name is issued once: revoked, it is not issued again (one actor
	// name in the log, one token).
	if _, err := s.Create(Identity{Name: "alice", Role: Finance}); err == nil {
		t.Fatal("a revoked name was issued again")
	}
	again, err := s.Create(Identity{Name: "alice-2", Role: Finance})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := other.Authenticate(again); err != nil || id.Role != Finance {
		t.Fatalf("the new token: %+v %v", id, err)
	}
	list, _ := s.List()
	if len(list) != 2 || list[0].RevokedAt == nil || list[1].RevokedAt != nil {
		t.Fatalf("list %+v", list)
	}
}

func TestCreateChecksItsInput(t *testing.T) {
	s := Open(t.TempDir())
	for _, c := range []struct {
		id   Identity
		want string
	}{
		{Identity{Name: "", Role: Agent}, "name: required"},
		{Identity{Name: strings.Repeat("x", MaxName+1), Role: Agent}, "name: at most"},
		{Identity{Name: "bad\nname", Role: Agent}, "name: printable"},
		{Identity{Name: "bob", Role: "root"}, "role: want one of"},
		{Identity{Name: "bob", Role: Finance, CPAM: "CPAM X"}, "cpam: only an agent"},
	} {
		if _, err := s.Create(c.id); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.id, err, c.want)
		}
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Fatalf("refused creations stored %d tokens", len(list))
	}
}

func TestAReadableTokensFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	tok, _ := s.Create(Identity{Name: "a", Role: Auditor})
	if _, err := s.Authenticate(tok); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, FileName), 0o644)
	if _, err := Open(dir).Authenticate(tok); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable tokens file: %v", err)
	}
	// A store that read the file before it was made readable refuses it too.
	if _, err := s.Authenticate(tok); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable tokens file, read before: %v", err)
	}
}

// A tokens file replaced by another of the same size and time (a restore, a
// copy) is read again: the store knows files, not only sizes and times.
func TestAReplacedTokensFileIsReadAgain(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	s := Open(dir)
	tok, err := s.Create(Identity{Name: "same", Role: Auditor})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(tok); err != nil {
		t.Fatal(err)
	}
	// A token of the same name and role, in a file of the same size.
	if _, err := Open(other).Create(Identity{Name: "same", Role: Auditor}); err != nil {
		t.Fatal(err)
	}
	path, replacement := filepath.Join(dir, FileName), filepath.Join(other, FileName)
	was, _ := os.Stat(path)
	if now, _ := os.Stat(replacement); now.Size() != was.Size() {
		t.Fatalf("the files differ in size: %d, %d", now.Size(), was.Size())
	}
	if err := os.Chtimes(replacement, was.ModTime(), was.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(replacement, path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("the token of the file replaced: %v", err)
	}
}

// Requests authenticate at once while the file changes (run with -race).
func TestAuthenticateWhileTheFileChanges(t *testing.T) {
	s := Open(t.TempDir())
	tok, err := s.Create(Identity{Name: "reader", Role: Auditor})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 200 {
				if id, err := s.Authenticate(tok); err != nil || id.Name != "reader" {
					errs <- fmt.Errorf("%+v %v", id, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for i := range 20 {
		if _, err := s.Create(Identity{Name: fmt.Sprintf("t%d", i), Role: Agent}); err != nil {
			t.Fatal(err)
		}
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// A token is accepted until it expires, checked at every request.
func TestTokensExpire(t *testing.T) {
	s := Open(t.TempDir())
	if _, err := s.CreateUntil(Identity{Name: "past", Role: Auditor}, time.Now().Add(-time.Second)); err == nil {
		t.Fatal("a token that expired already was made")
	}
	tok, err := s.CreateUntil(Identity{Name: "brief", Role: Auditor}, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(tok); err != nil {
		t.Fatalf("before it expires: %v", err)
	}
	list, _ := s.List()
	if list[0].ExpiresAt == nil {
		t.Fatal("no expiry kept")
	}
	// An hour later: refused, at the next request, without the file
	// changing.
	s.now = func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := s.Authenticate(tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("after it expired: %v", err)
	}
}
