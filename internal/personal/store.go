// Package personal is the key store of a data directory: one random
// AES-256 key per person (a doctor, by RPPS number), outside the event log,
// in its own file (personal-keys.db, mode 0600). The log holds the
// doctors' personal data sealed under these keys (domain/personal.go);
// destroying a key erases them wherever the log went. docs/privacy.md says
// what it covers and what it cannot reach.
package personal

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/cptsledger/ledger/domain"
)

// FileName is the key store's file in the data directory.
const FileName = "personal-keys.db"

// Why SQLite in rollback-journal mode, synchronous FULL, secure_delete:
// a key is durable (fsynced) before the event it seals is appended, so a
// crash never leaves data no key opens; several processes (a `serve` and a
// `submit`) create keys at once under SQLite's locks; and a destroyed key's
// bytes are overwritten in the file, not left on a free page. The journal
// holds a page's old content during a transaction and is deleted at its
// end (what a file system keeps of deleted blocks is beyond any program).
const schema = `
CREATE TABLE IF NOT EXISTS keys (
	key_id     TEXT PRIMARY KEY,
	person     TEXT NOT NULL UNIQUE,
	key        BLOB NOT NULL,
	created_at TEXT NOT NULL
) WITHOUT ROWID;
-- The keys destroyed: their ids only (who they were is what was erased).
CREATE TABLE IF NOT EXISTS erased (
	key_id    TEXT PRIMARY KEY,
	erased_at TEXT NOT NULL
) WITHOUT ROWID;`

// Store is a data directory's key store, opened on first use.
type Store struct {
	path string

	once sync.Once
	db   *sql.DB
	err  error

	mu      sync.Mutex
	cache   map[string][]byte // key id → key, valid while the file's data_version is
	persons map[string]string // person → key id, likewise
	version int64
}

// At returns the key store of the data directory dir. Nothing is opened
// until it is used: a directory whose log holds no personal data never gets
// the file.
func At(dir string) *Store { return &Store{path: filepath.Join(dir, FileName)} }

// Path is the key store's file.
func (s *Store) Path() string { return s.path }

func (s *Store) open() (*sql.DB, error) {
	s.once.Do(func() {
		if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
			s.err = err
			return
		}
		f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			s.err = fmt.Errorf("personal: %w", err)
			return
		}
		f.Close()
		if err := os.Chmod(s.path, 0o600); err != nil {
			s.err = err
			return
		}
		db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(s.path)+
			"?_pragma=busy_timeout(30000)&_pragma=journal_mode(DELETE)&_pragma=synchronous(FULL)&_pragma=secure_delete(ON)&_txlock=immediate")
		if err == nil {
			db.SetMaxOpenConns(1) // one connection: data_version is per connection
			_, err = db.Exec(schema)
		}
		if err != nil {
			s.err = fmt.Errorf("personal: the key store %s: %w", s.path, err)
			return
		}
		s.db = db
	})
	return s.db, s.err
}

// Close closes the file, if it was opened.
func (s *Store) Close() error {
	if s.db != nil {
		return s.db.Close()
	}
	return nil
}

// KeyFor implements domain.Keyring: the person's key, created (and
// synced) when they have none. Two processes creating one at once end with
// one key: the person is unique.
func (s *Store) KeyFor(person string) (string, []byte, error) {
	db, err := s.open()
	if err != nil {
		return "", nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fresh(db); err != nil {
		return "", nil, err
	}
	if id, ok := s.persons[person]; ok {
		return id, s.cache[id], nil
	}
	kid, k, err := s.keyOf(db, person)
	if errors.Is(err, sql.ErrNoRows) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return "", nil, err
		}
		if _, err := db.Exec(`INSERT INTO keys (key_id, person, key, created_at) VALUES (?,?,?,?) ON CONFLICT (person) DO NOTHING`,
			uuid.New().String(), person, key, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return "", nil, fmt.Errorf("personal: create a key: %w", err)
		}
		kid, k, err = s.keyOf(db, person)
	}
	if err != nil {
		return "", nil, fmt.Errorf("personal: read a key: %w", err)
	}
	s.cache[kid], s.persons[person] = k, kid
	return kid, k, nil
}

func (s *Store) keyOf(db *sql.DB, person string) (string, []byte, error) {
	var kid string
	var k []byte
	err := db.QueryRow(`SELECT key_id, key FROM keys WHERE person = ?`, person).Scan(&kid, &k)
	return kid, k, err
}

// fresh empties the keys kept in memory when another connection changed
// the file since they were read (SQLite's data_version).
func (s *Store) fresh(db *sql.DB) error {
	var v int64
	if err := db.QueryRow(`PRAGMA data_version`).Scan(&v); err != nil {
		return err
	}
	if v != s.version || s.cache == nil {
		s.cache, s.persons, s.version = map[string][]byte{}, map[string]string{}, v
	}
	return nil
}

// Key implements domain.Keyring. Keys read are kept in memory while the
// file is unchanged (SQLite's data_version): a key destroyed by another
// process is not served from memory after it.
func (s *Store) Key(keyID string) ([]byte, error) {
	if _, err := os.Stat(s.path); errors.Is(err, os.ErrNotExist) && s.db == nil {
		return nil, domain.ErrKeyMissing // no key store: a log from elsewhere, or withheld
	}
	db, err := s.open()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fresh(db); err != nil {
		return nil, err
	}
	if k, ok := s.cache[keyID]; ok {
		return k, nil
	}
	var k []byte
	err = db.QueryRow(`SELECT key FROM keys WHERE key_id = ?`, keyID).Scan(&k)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var at string
		if db.QueryRow(`SELECT erased_at FROM erased WHERE key_id = ?`, keyID).Scan(&at) == nil {
			return nil, domain.ErrErased
		}
		return nil, domain.ErrKeyMissing
	case err != nil:
		return nil, err
	}
	s.cache[keyID] = k
	return k, nil
}

// Lookup returns the id of a person's key, if the store holds one.
func (s *Store) Lookup(person string) (string, bool, error) {
	db, err := s.open()
	if err != nil {
		return "", false, err
	}
	var id string
	err = db.QueryRow(`SELECT key_id FROM keys WHERE person = ?`, person).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return id, err == nil, err
}

// Destroy deletes a key, its bytes overwritten in the file, and records its
// id as erased; destroying a key destroyed already does nothing.
func (s *Store) Destroy(keyID string, at time.Time) error {
	db, err := s.open()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`DELETE FROM keys WHERE key_id = ?`, keyID); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO erased (key_id, erased_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, keyID, at.UTC().Format(time.RFC3339)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("personal: destroy key %s: %w", keyID, err)
	}
	s.mu.Lock()
	s.cache, s.persons = nil, nil
	s.mu.Unlock()
	return nil
}

// Held lists the ids of the keys the store holds.
func (s *Store) Held() ([]string, error) {
	if _, err := os.Stat(s.path); errors.Is(err, os.ErrNotExist) && s.db == nil {
		return nil, nil
	}
	db, err := s.open()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(`SELECT key_id FROM keys ORDER BY key_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Backup writes a consistent copy of the key store to out (0600); false
// when the data directory has no key store.
func (s *Store) Backup(out string) (bool, error) {
	if _, err := os.Stat(s.path); errors.Is(err, os.ErrNotExist) && s.db == nil {
		return false, nil
	}
	db, err := s.open()
	if err != nil {
		return false, err
	}
	if _, err := db.Exec(`VACUUM INTO ?`, out); err != nil {
		return false, fmt.Errorf("personal: back up the key store: %w", err)
	}
	return true, os.Chmod(out, 0o600)
}

// Restore fills the data directory dir's key store from a backup of one,
// leaving out every key whose id erased names (the erasures the restored
// log records): a backup taken before an erasure does not bring the key
// back. It returns how many keys it kept and refused.
func Restore(dir, from string, erased func(keyID string) bool) (kept, refused int, err error) {
	src, err := sql.Open("sqlite", "file:"+filepath.ToSlash(from)+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	rows, err := src.Query(`SELECT key_id, person, key, created_at FROM keys`)
	if err != nil {
		return 0, 0, fmt.Errorf("personal: %s is not a key store: %w", from, err)
	}
	defer rows.Close()
	dst := At(dir)
	defer dst.Close()
	db, err := dst.open()
	if err != nil {
		return 0, 0, err
	}
	for rows.Next() {
		var id, person, created string
		var key []byte
		if err := rows.Scan(&id, &person, &key, &created); err != nil {
			return kept, refused, err
		}
		if erased(id) {
			refused++
			if _, err := db.Exec(`INSERT INTO erased (key_id, erased_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, time.Now().UTC().Format(time.RFC3339)); err != nil {
				return kept, refused, err
			}
			continue
		}
		if _, err := db.Exec(`INSERT INTO keys (key_id, person, key, created_at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING`, id, person, key, created); err != nil {
			return kept, refused, err
		}
		kept++
	}
	return kept, refused, rows.Err()
}
