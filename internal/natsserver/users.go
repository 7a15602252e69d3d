package natsserver

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nkeys"
)

// The embedded server takes no anonymous client: two NKey users, made at
// serve's first start, their seeds kept 0600 in the data directory.
const (
	// RolePublisher is serve's own user (the relay, the checkpoints): it
	// publishes on ledger.> and manages the streams.
	RolePublisher = "publisher"
	// RoleSubscriber is a consumer's user: it reads the streams (ledger tail,
	// a payment-execution consumer) and may publish nothing on ledger.>.
	RoleSubscriber = "subscriber"
)

// SeedFile is where a role's NKey seed is kept in the data directory.
func SeedFile(dataDir, role string) string {
	return filepath.Join(dataDir, "nats-"+role+".nk")
}

// Users are the public keys of the two users.
type Users struct {
	Publisher, Subscriber string
}

// EnsureUsers returns the users of the data directory's embedded server,
// making their seeds at the first call (mode 0600, never overwritten).
func EnsureUsers(dataDir string) (Users, error) {
	var u Users
	for _, role := range []string{RolePublisher, RoleSubscriber} {
		pub, err := ensureSeed(SeedFile(dataDir, role))
		if err != nil {
			return Users{}, fmt.Errorf("natsserver: the %s's credentials: %w", role, err)
		}
		if role == RolePublisher {
			u.Publisher = pub
		} else {
			u.Subscriber = pub
		}
	}
	return u, nil
}

// ensureSeed reads the user seed at path, or makes one there, and returns
// its public key. A seed file others may read is refused, as a signer key.
func ensureSeed(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return "", err
		}
		seed, err := kp.Seed()
		if err != nil {
			return "", err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return "", err
		}
		_, werr := f.Write(append(seed, '\n'))
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			os.Remove(path)
			return "", err
		}
		raw = seed
	} else if err != nil {
		return "", err
	} else if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s can be read by others (mode %#o): chmod 600 %s", path, st.Mode().Perm(), path)
	}
	kp, err := nkeys.FromSeed(bytes.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("%s holds no NKey user seed", path)
	}
	return kp.PublicKey()
}
