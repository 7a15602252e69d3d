// Package auth holds the ledger's identities: bearer tokens, each with a
// name (recorded as the actor of what it submits), a role, and for agents
// an optional CPAM. The data directory keeps only a SHA-256 hash of each
// token, in tokens.json (mode 0600): a token is 32 random bytes, so a fast
// hash is enough — nothing can be guessed from it — and the token itself
// is shown once, when it is created. Tokens are compared in constant time.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/dirlock"
)

// Role is what an identity may do.
type Role string

// The roles.
const (
	// Auditor reads everything, audit trails included.
	Auditor Role = "auditor"
	// Finance reads contracts, payments, balances, the schedule, totals,
	// exports and alerts; not audit trails.
	Finance Role = "finance"
	// Agent submits commands and reads contracts; with a CPAM, only that
	// CPAM's contracts, for reading and writing.
	Agent Role = "agent"
	// Admin manages tokens, rebuilds the read models and publishes
	// rulebook amendments.
	Admin Role = "admin"
	// KeyReader reads the keys that seal the doctors' personal data: the
	// role of a NATS consumer that needs them in clear (docs/privacy.md).
	KeyReader Role = "key_reader"
)

// Roles lists the roles.
func Roles() []Role { return []Role{Auditor, Finance, Agent, Admin, KeyReader} }

// Right is one thing a route does.
type Right string

// The rights.
const (
	ReadContracts Right = "read_contracts" // contract search and detail
	ReadFinance   Right = "read_finance"   // payments, balances, alerts, schedule, totals, exports
	ReadAudit     Right = "read_audit"     // audit trails
	Submit        Right = "submit"         // commands
	Administer    Right = "administer"     // tokens, rebuild
	PublishRules  Right = "publish_rules"  // rulebook amendments
	Pay           Right = "pay"            // payment runs, bank statements, contests decided, payers' accounts
	ReadKeys      Right = "read_keys"      // the keys of the doctors' personal data
)

// String says what the right lets do, for messages.
func (r Right) String() string {
	switch r {
	case ReadContracts:
		return "read contracts"
	case ReadFinance:
		return "read payments, balances, alerts, the schedule, totals or exports"
	case ReadAudit:
		return "read audit trails"
	case Submit:
		return "submit commands"
	case Administer:
		return "manage tokens or rebuild the read models"
	case PublishRules:
		return "publish rulebook amendments"
	case Pay:
		return "run payments, import bank statements, decide contests or record a payer's account"
	case ReadKeys:
		return "read the keys of the doctors' personal data"
	}
	return string(r)
}

var rights = map[Role][]Right{
	Auditor:   {ReadContracts, ReadFinance, ReadAudit},
	Finance:   {ReadContracts, ReadFinance, Pay},
	Agent:     {ReadContracts, Submit},
	Admin:     {Administer, PublishRules},
	KeyReader: {ReadKeys},
}

// Can tells whether the role has the right.
func (r Role) Can(right Right) bool { return slices.Contains(rights[r], right) }

// CommandRight is the right a command type needs: the payer's (Pay) for
// the commands of the people who pay (domain.PayerCommands), Submit for
// every other.
func CommandRight(typ string) Right {
	if slices.Contains(domain.PayerCommands(), typ) {
		return Pay
	}
	return Submit
}

// Identity is who a request is from.
type Identity struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	CPAM string `json:"cpam,omitempty"` // an agent limited to one CPAM's contracts
}

// Sees tells whether the identity may read or write a contract of cpam.
func (id Identity) Sees(cpam string) bool { return id.CPAM == "" || id.CPAM == cpam }

// Token is a stored token: never the token itself.
type Token struct {
	Identity
	Hash      string     `json:"sha256"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// ExpiresAt is when the token stops being accepted (nil: tokens made
	// before expiries were, which never expire).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// DefaultLifetime is how long a token is accepted when its creation says
// nothing else.
const DefaultLifetime = 365 * 24 * time.Hour

// DefaultMaxLifetime bounds how long a token may be accepted (one year),
// unless the store says otherwise (Store.MaxLifetime): a token made to
// last for ever (--expires 999999h) outlives the person it was for.
const DefaultMaxLifetime = 365 * 24 * time.Hour

// FileName is the tokens file in the data directory.
const FileName = "tokens.json"

// Limits on what a token is created with.
const (
	MaxName = 100
	MaxCPAM = 200
)

// Store is the tokens of a data directory. Authenticate reads the file
// again when it changed on disk, so a token created or revoked by the CLI
// takes effect in a running server at the next request.
type Store struct {
	path string
	// MaxLifetime bounds a new token's lifetime (0: DefaultMaxLifetime).
	MaxLifetime time.Duration

	// snap is the file as last read. Requests read it without a lock;
	// mu only keeps two of them from reading a changed file at once.
	snap atomic.Pointer[snapshot]
	mu   sync.Mutex
	// now is the clock expiries are judged by (tests move it).
	now func() time.Time
}

// snapshot is the tokens file as read once: its tokens, or why they could
// not be read, and the file they were read from.
type snapshot struct {
	info   os.FileInfo // nil: there was no file
	tokens []Token
	err    error
}

// current says whether the snapshot is of the file st describes: the
// same file (every update renames a new one in), size and time.
func (sn *snapshot) current(st os.FileInfo) bool {
	return sn != nil && sn.info != nil && os.SameFile(sn.info, st) && sn.info.Size() == st.Size() && sn.info.ModTime().Equal(st.ModTime())
}

// Open returns the tokens of the data directory dir.
func Open(dir string) *Store { return &Store{path: filepath.Join(dir, FileName), now: time.Now} }

// ErrInvalid is a token that is unknown, revoked or expired.
var ErrInvalid = errors.New("unknown, revoked or expired token")

// CheckName says what is wrong with a token name, or nil.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("name: required")
	case len(name) > MaxName:
		return fmt.Errorf("name: at most %d bytes", MaxName)
	case strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) || r == '"' }) >= 0:
		return errors.New("name: printable characters only, no double quote")
	}
	return nil
}

// Create makes a new token for an identity, accepted for DefaultLifetime.
func (s *Store) Create(id Identity) (string, error) {
	return s.CreateUntil(id, time.Now().Add(DefaultLifetime))
}

// CreateUntil makes a new token for an identity, accepted until expires,
// and returns it: the only time it is ever shown. A name is issued once:
// never again, even after its token was revoked or expired, so that one
// actor name in the log is one token.
func (s *Store) CreateUntil(id Identity, expires time.Time) (string, error) {
	if !expires.After(time.Now()) {
		return "", errors.New("expires: must be in the future")
	}
	limit := s.MaxLifetime
	if limit <= 0 {
		limit = DefaultMaxLifetime
	}
	if expires.After(time.Now().Add(limit)) {
		return "", fmt.Errorf("expires: at most %s from now (the ledger's maximum token lifetime, %dh; LEDGER_TOKEN_MAX_LIFETIME sets it)", limit, int64(limit/time.Hour))
	}
	if err := CheckName(id.Name); err != nil {
		return "", err
	}
	if !slices.Contains(Roles(), id.Role) {
		return "", fmt.Errorf("role: want one of auditor, finance, agent, admin, not %q", id.Role)
	}
	if id.CPAM != "" && id.Role != Agent {
		return "", errors.New("cpam: only an agent is limited to one CPAM")
	}
	if len(id.CPAM) > MaxCPAM {
		return "", fmt.Errorf("cpam: at most %d bytes", MaxCPAM)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := "lgr_" + base64.RawURLEncoding.EncodeToString(raw)
	err := s.update(func(ts []Token) ([]Token, error) {
		for _, t := range ts {
			// Names differing only in case are one name: "Ada" and "ada"
			// would be two actors a reader takes for one.
			if strings.EqualFold(t.Name, id.Name) {
				return nil, fmt.Errorf("name: %q was issued a token already, as %q (a name is issued once, revoked or not, whatever its case: it names the actor of what was written; choose another)", id.Name, t.Name)
			}
		}
		exp := expires.UTC().Truncate(time.Second)
		return append(ts, Token{Identity: id, Hash: hash(token), CreatedAt: time.Now().UTC().Truncate(time.Second), ExpiresAt: &exp}), nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// Revoke revokes the token named name.
func (s *Store) Revoke(name string) error {
	return s.update(func(ts []Token) ([]Token, error) {
		for i := range ts {
			if ts[i].Name == name && ts[i].RevokedAt == nil {
				now := time.Now().UTC().Truncate(time.Second)
				ts[i].RevokedAt = &now
				return ts, nil
			}
		}
		return nil, fmt.Errorf("name: no token named %q to revoke", name)
	})
}

// List returns the tokens, revoked ones included.
func (s *Store) List() ([]Token, error) {
	sn, err := s.load()
	if err != nil {
		return nil, err
	}
	return slices.Clone(sn.tokens), nil
}

// Authenticate returns the identity of a token. Every stored hash is
// compared, in constant time, whatever matches.
func (s *Store) Authenticate(token string) (Identity, error) {
	sn, err := s.load()
	if err != nil {
		return Identity{}, err
	}
	h := []byte(hash(token))
	var found *Token
	for i := range sn.tokens {
		if subtle.ConstantTimeCompare(h, []byte(sn.tokens[i].Hash)) == 1 {
			found = &sn.tokens[i]
		}
	}
	if found == nil || found.RevokedAt != nil || found.ExpiresAt != nil && !s.clock().Before(*found.ExpiresAt) {
		return Identity{}, ErrInvalid
	}
	return found.Identity, nil
}

func (s *Store) clock() time.Time {
	if s.now == nil {
		return time.Now()
	}
	return s.now()
}

func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// load returns the tokens as the file holds them now, reading it again
// only when it changed (one stat a request, no lock: every request of a
// busy server would otherwise queue behind the one holding it). A missing
// file is no token.
func (s *Store) load() (*snapshot, error) {
	st, err := os.Stat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return &snapshot{}, nil
	}
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by other users (mode %v): chmod 600 it", s.path, st.Mode().Perm())
	}
	if sn := s.snap.Load(); sn.current(st) {
		return sn, sn.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sn := s.snap.Load(); sn.current(st) {
		return sn, sn.err // read by another request meanwhile
	}
	// If the file is replaced between the stat and the read, the next
	// request sees a file newer than st and reads it again.
	sn := &snapshot{info: st}
	sn.tokens, sn.err = read(s.path)
	s.snap.Store(sn)
	return sn, sn.err
}

func read(path string) ([]Token, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ts := []Token{}
	if err := json.Unmarshal(raw, &ts); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ts, nil
}

// update changes the file under a lock, writing a new file beside it and
// renaming it over the old one.
func (s *Store) update(change func([]Token) ([]Token, error)) error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	lock, err := dirlock.Wait(s.path + ".lock")
	if err != nil {
		return err
	}
	defer lock.Release()
	ts := []Token{}
	if _, err := os.Stat(s.path); err == nil {
		if ts, err = read(s.path); err != nil {
			return err
		}
	}
	ts, err = change(ts)
	if err != nil {
		return err
	}
	raw, err := json.MarshalIndent(ts, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}

// ParseExpiry reads when a token stops being accepted, as typed: a
// duration from now, or a date (its end, UTC).
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	if d, err := domain.ParseDate(s); err == nil {
		return d.Time().Add(24*time.Hour - time.Second), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("--expires %q: want a positive duration (720h) or a date YYYY-MM-DD", s)
	}
	return now.Add(d), nil
}
