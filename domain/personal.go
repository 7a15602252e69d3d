package domain

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/google/uuid"
)

// Personal data (docs/privacy.md). The fields of an event that identify a
// natural person — a doctor's RPPS number and birth date, the names and
// free texts about them — are written in the log as ciphertext under a key
// of that person, kept outside the log (a key store in the data
// directory). Destroying the key erases them everywhere the log went
// (crypto-shredding) while every hash, chain, Merkle leaf and checkpoint,
// all made of the stored bytes, stays as it was.
//
// Stored form: the personal fields are taken out of the event's data and
// the object gets one more member,
//
//	"personal": {"key_id": "<uuid>", "fields": ["doctor.rpps", ...], "sealed": "<base64>"}
//
// where sealed is AES-256-GCM (nonce ‖ ciphertext) of the JSON object of
// the fields taken out, by path. The nonce is derived from the key, the
// event's id and the plaintext (an HMAC): the same event sealed again — a
// command retried — is the same bytes, which the store's idempotency asks,
// and two different plaintexts never share a nonce under one key.

// PersonalMember is the member of an event's data that holds its sealed
// personal fields.
const PersonalMember = "personal"

// What a reader sees in place of a personal field it cannot open.
const (
	// ErasedText: the person's key was destroyed (ledger erase).
	ErasedText = "[effacé]"
	// KeyMissingText: the key store does not hold the key (a key store
	// withheld from a restore, or another data directory's log).
	KeyMissingText = "[clé absente]"
)

var (
	// ErrErased is a key destroyed by an erasure.
	ErrErased = errors.New("personal data erased: the person's key was destroyed")
	// ErrKeyMissing is a key the key store does not hold.
	ErrKeyMissing = errors.New("the person's key is not in the key store")
)

// Keyring gives the keys of persons: the key store of a data directory.
type Keyring interface {
	// KeyFor returns the key of a person, created and made durable when
	// they have none yet.
	KeyFor(person string) (keyID string, key []byte, err error)
	// Key returns a key by its id: ErrErased for a destroyed key,
	// ErrKeyMissing for one the store does not hold.
	Key(keyID string) ([]byte, error)
}

// PersonalField is a path in an event's data ("doctor.rpps") that
// identifies a person; Text fields read ErasedText once erased, the others
// (a date) are left out.
type PersonalField struct {
	Path string
	Text bool
}

// PersonalScheme is a scheme whose events may carry personal data.
type PersonalScheme interface {
	// PersonalFields lists the personal fields of an event type's data.
	PersonalFields(eventType string) []PersonalField
	// PersonOf names the person a contract's events are about, from its
	// state and the events a command produced (the signature names them).
	PersonOf(state State, events []Event) (person string, ok bool)
}

// Sealer is a scheme that seals the personal fields of the events it
// produced, before they are appended (app.Envelopes' data, by index), and
// keys the digest of the command behind them.
type Sealer interface {
	SealEvents(state State, events []Event, ids []uuid.UUID, data [][]byte) error
	// KeyDigest returns the digest to store for a command on a contract
	// whose person has a key: keyed by it (KeyedDigest), since the
	// command as sent holds their data in clear and a plain digest of it
	// could be found again by trying every RPPS number. The digest as is
	// when there is no one to key it for.
	KeyDigest(state State, events []Event, digest []byte) ([]byte, error)
}

// The keyed digest (format 3): one version byte, 3, then HMAC-SHA256 of
// the format-2 digest under a key derived from the person's. Destroying
// the key leaves a digest nothing can be tried against.
const keyedDigestVersion = 3

// KeyedDigest keys a command's digest with a person's key.
func KeyedDigest(key, digest []byte) []byte {
	dk := hmac.New(sha256.New, key)
	dk.Write([]byte(sealTag + "digest"))
	mac := hmac.New(sha256.New, dk.Sum(nil))
	mac.Write(digest)
	return append([]byte{keyedDigestVersion}, mac.Sum(nil)...)
}

// IsKeyedDigest tells whether a stored digest is keyed by a person's key.
func IsKeyedDigest(d []byte) bool { return len(d) == 1+sha256.Size && d[0] == keyedDigestVersion }

// PersonalOpener is a scheme that opens an event's personal fields for a
// reader: the data with them put back (or masked), and what it found (nil:
// nothing sealed).
type PersonalOpener interface {
	OpenPersonal(eventType string, data []byte) ([]byte, *Opened, error)
}

// SealedPart is the "personal" member of a stored event's data.
type SealedPart struct {
	KeyID  string   `json:"key_id"`
	Fields []string `json:"fields"`
	Sealed string   `json:"sealed"`
}

// SealData takes the personal fields out of an event's JSON data and seals
// them under the person's key; data without any of them is returned as is.
func SealData(keys Keyring, person string, eventID uuid.UUID, data []byte, fields []PersonalField) ([]byte, error) {
	if len(fields) == 0 {
		return data, nil
	}
	obj, err := objectOf(data)
	if err != nil {
		return nil, err
	}
	taken := map[string]json.RawMessage{}
	var names []string
	for _, f := range fields {
		if v, ok, err := takePath(obj, f.Path); err != nil {
			return nil, err
		} else if ok {
			taken[f.Path] = v
			names = append(names, f.Path)
		}
	}
	if len(names) == 0 {
		return data, nil
	}
	keyID, key, err := keys.KeyFor(person)
	if err != nil {
		return nil, fmt.Errorf("personal data: the key of the person: %w", err)
	}
	plain, _ := json.Marshal(taken)
	sealed, err := seal(key, keyID, eventID, plain)
	if err != nil {
		return nil, err
	}
	part, _ := json.Marshal(SealedPart{KeyID: keyID, Fields: names, Sealed: sealed})
	obj[PersonalMember] = part
	return json.Marshal(obj)
}

// Opened is what opening an event's personal fields found.
type Opened struct {
	KeyID string
	// State: "open" (the fields read back), "erased" or "key_missing".
	State  string
	Fields map[string]json.RawMessage
}

// Personal-data states of an event (Opened.State).
const (
	PersonalOpen       = "open"
	PersonalErased     = "erased"
	PersonalKeyMissing = "key_missing"
)

// OpenData puts an event's sealed personal fields back in its data: in
// clear when the key is there, ErasedText (or KeyMissingText) in the text
// fields when it is not, the others left out. Data without a personal part
// is returned as is, with a nil *Opened. A part that does not open under
// its key — altered bytes — is an error: nothing is guessed.
func OpenData(keys Keyring, data []byte, fields []PersonalField) ([]byte, *Opened, error) {
	if len(fields) == 0 || !bytes.Contains(data, []byte(`"`+PersonalMember+`"`)) {
		return data, nil, nil
	}
	obj, err := objectOf(data)
	if err != nil {
		return nil, nil, err
	}
	raw, ok := obj[PersonalMember]
	if !ok {
		return data, nil, nil
	}
	delete(obj, PersonalMember)
	var part SealedPart
	if err := DecodeStrict(raw, &part); err != nil {
		return nil, nil, fmt.Errorf("personal data: %w", err)
	}
	o, err := openPart(keys, part, fields)
	if err != nil {
		return nil, nil, err
	}
	for path, v := range o.Fields {
		if err := putPath(obj, path, v); err != nil {
			return nil, nil, err
		}
	}
	out, err := json.Marshal(obj)
	return out, o, err
}

// openPart opens a sealed part, or masks its fields when its key is gone.
func openPart(keys Keyring, part SealedPart, fields []PersonalField) (*Opened, error) {
	o := &Opened{KeyID: part.KeyID, State: PersonalOpen, Fields: map[string]json.RawMessage{}}
	var key []byte
	var err error
	if keys == nil {
		err = ErrKeyMissing
	} else {
		key, err = keys.Key(part.KeyID)
	}
	switch {
	case errors.Is(err, ErrErased), errors.Is(err, ErrKeyMissing):
		o.State, o.Fields = PersonalKeyMissing, masked(part.Fields, fields, KeyMissingText)
		if errors.Is(err, ErrErased) {
			o.State, o.Fields = PersonalErased, masked(part.Fields, fields, ErasedText)
		}
		return o, nil
	case err != nil:
		return nil, fmt.Errorf("personal data: key %s: %w", part.KeyID, err)
	}
	plain, err := open(key, part.KeyID, part.Sealed)
	if err != nil {
		return nil, err
	}
	if err := DecodeStrict(plain, &o.Fields); err != nil {
		return nil, fmt.Errorf("personal data: %w", err)
	}
	return o, nil
}

// masked is what stands for the sealed fields when the key is gone.
func masked(sealed []string, fields []PersonalField, text string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	t, _ := json.Marshal(text)
	for _, f := range fields {
		if f.Text && slices.Contains(sealed, f.Path) {
			out[f.Path] = t
		}
	}
	return out
}

// SealedKey returns the key id of an event's sealed part, if it has one.
func SealedKey(data []byte) (string, bool) {
	if !bytes.Contains(data, []byte(`"`+PersonalMember+`"`)) {
		return "", false
	}
	var v struct {
		Part *SealedPart `json:"personal"`
	}
	if json.Unmarshal(data, &v) != nil || v.Part == nil {
		return "", false
	}
	return v.Part.KeyID, true
}

const sealTag = "cptsledger/personal/v1\n"

// seal is AES-256-GCM of plain under key, the key id as associated data,
// with a nonce derived from the key, the event id and plain.
func seal(key []byte, keyID string, eventID uuid.UUID, plain []byte) (string, error) {
	aead, err := gcm(key)
	if err != nil {
		return "", err
	}
	nk := hmac.New(sha256.New, key)
	nk.Write([]byte(sealTag + "nonce"))
	mac := hmac.New(sha256.New, nk.Sum(nil))
	mac.Write(eventID[:])
	mac.Write(plain)
	nonce := mac.Sum(nil)[:aead.NonceSize()]
	out := aead.Seal(append([]byte(nil), nonce...), nonce, plain, []byte(sealTag+keyID))
	return base64.StdEncoding.EncodeToString(out), nil
}

func open(key []byte, keyID, sealed string) ([]byte, error) {
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.Strict().DecodeString(sealed)
	if err != nil || len(b) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("personal data: the sealed part of key %s is not base64 of a nonce and a ciphertext", keyID)
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(sealTag+keyID))
	if err != nil {
		return nil, fmt.Errorf("personal data: the sealed part does not open under key %s (altered?)", keyID)
	}
	return plain, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("personal data: a key is 32 bytes (AES-256), got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// objectOf reads an event's data as a JSON object, member by member, as
// strictly as the decoders read it afterwards: a name given twice is
// refused here, not collapsed into one that the strict decoding would
// then accept.
func objectOf(data []byte) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := jsonv2.Unmarshal(data, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("personal data: an event's data is not one JSON object with each name once: %v", err)
	}
	return obj, nil
}

// takePath removes the member at a dotted path ("doctor.rpps"), returning
// it; ok is false when it is absent (or null).
func takePath(obj map[string]json.RawMessage, path string) (json.RawMessage, bool, error) {
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		v, ok := obj[head]
		if !ok || string(v) == "null" {
			return nil, false, nil
		}
		delete(obj, head)
		return v, true, nil
	}
	inner, ok := obj[head]
	if !ok || string(inner) == "null" {
		return nil, false, nil
	}
	sub, err := objectOf(inner)
	if err != nil {
		return nil, false, err
	}
	v, ok, err := takePath(sub, rest)
	if err != nil || !ok {
		return nil, ok, err
	}
	obj[head], _ = json.Marshal(sub)
	return v, true, nil
}

// putPath sets the member at a dotted path.
func putPath(obj map[string]json.RawMessage, path string, v json.RawMessage) error {
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		obj[head] = v
		return nil
	}
	sub := map[string]json.RawMessage{}
	if inner, ok := obj[head]; ok {
		var err error
		if sub, err = objectOf(inner); err != nil {
			return err
		}
	}
	if err := putPath(sub, rest, v); err != nil {
		return err
	}
	obj[head], _ = json.Marshal(sub)
	return nil
}
