package domain_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
)

// ring is a keyring in memory: the key store's contract, for the sealing
// alone (internal/personal tests the file).
type ring struct {
	keys    map[string][]byte
	persons map[string]string
	erased  map[string]bool
}

func newRing() *ring {
	return &ring{keys: map[string][]byte{}, persons: map[string]string{}, erased: map[string]bool{}}
}

func (r *ring) KeyFor(person string) (string, []byte, error) {
	if id, ok := r.persons[person]; ok {
		return id, r.keys[id], nil
	}
	id, key := uuid.NewString(), make([]byte, 32)
	rand.Read(key)
	r.keys[id], r.persons[person] = key, id
	return id, key, nil
}

func (r *ring) Key(id string) ([]byte, error) {
	if r.erased[id] {
		return nil, domain.ErrErased
	}
	k, ok := r.keys[id]
	if !ok {
		return nil, domain.ErrKeyMissing
	}
	return k, nil
}

func (r *ring) destroy(person string) {
	id := r.persons[person]
	delete(r.keys, id)
	delete(r.persons, person)
	r.erased[id] = true
}

var signedFields = []domain.PersonalField{{Path: "doctor.rpps", Text: true}, {Path: "doctor.born_on"}, {Path: "reason", Text: true}}

const signed = `{"contract_id":"c1","doctor":{"rpps":"10001234567","born_on":"1959-03-01","specialty":"general_practice"},"option":"1/2"}`

// Sealed data holds nothing of the person in clear, opens back to the same
// JSON, is the same bytes when sealed again (a retried command), and reads
// [effacé] (the date left out) once the key is destroyed.
func TestSealOpenErase(t *testing.T) {
	keys, event := newRing(), uuid.New()
	sealed, err := domain.SealData(keys, "10001234567", event, []byte(signed), signedFields)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("10001234567")) || bytes.Contains(sealed, []byte("1959")) {
		t.Fatalf("sealed data shows the person: %s", sealed)
	}
	again, _ := domain.SealData(keys, "10001234567", event, []byte(signed), signedFields)
	if !bytes.Equal(sealed, again) {
		t.Fatal("the same event sealed twice differs: a retried command would conflict with itself")
	}
	other, _ := domain.SealData(keys, "10001234567", uuid.New(), []byte(signed), signedFields)
	if bytes.Equal(sealed, other) {
		t.Fatal("two events sealed alike: the nonce does not depend on the event")
	}
	opened, o, err := domain.OpenData(keys, sealed, signedFields)
	if err != nil || o == nil || o.State != domain.PersonalOpen {
		t.Fatalf("open: %v %+v", err, o)
	}
	if !sameJSON(t, opened, []byte(signed)) {
		t.Fatalf("opened %s, want %s", opened, signed)
	}
	keys.destroy("10001234567")
	erased, o, err := domain.OpenData(keys, sealed, signedFields)
	if err != nil || o.State != domain.PersonalErased {
		t.Fatalf("after erasure: %v %+v", err, o)
	}
	want := `{"contract_id":"c1","doctor":{"rpps":"[effacé]","specialty":"general_practice"},"option":"1/2"}`
	if !sameJSON(t, erased, []byte(want)) {
		t.Fatalf("erased %s, want %s", erased, want)
	}
	if id, ok := domain.SealedKey(sealed); !ok || id != o.KeyID {
		t.Fatalf("sealed key %q %t, want %s", id, ok, o.KeyID)
	}
}

// A sealed part altered is refused, never guessed; a key the store does
// not hold reads [clé absente]; data with no personal field is unchanged.
func TestSealedPartsAreStrict(t *testing.T) {
	keys := newRing()
	sealed, _ := domain.SealData(keys, "10001234567", uuid.New(), []byte(signed), signedFields)
	var obj map[string]json.RawMessage
	json.Unmarshal(sealed, &obj)
	var part domain.SealedPart
	json.Unmarshal(obj["personal"], &part)
	raw, _ := base64.StdEncoding.DecodeString(part.Sealed)
	raw[len(raw)/2] ^= 1 // one bit of the ciphertext
	flipped := base64.StdEncoding.EncodeToString(raw)
	altered := bytes.Replace(sealed, []byte(part.Sealed), []byte(flipped), 1)
	if _, _, err := domain.OpenData(keys, altered, signedFields); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Fatalf("an altered sealed part: %v", err)
	}
	unknown := bytes.Replace(sealed, []byte(part.KeyID), []byte(uuid.NewString()), 1)
	out, o, err := domain.OpenData(keys, unknown, signedFields)
	if err != nil || o.State != domain.PersonalKeyMissing || !bytes.Contains(out, []byte(`"rpps":"[clé absente]"`)) {
		t.Fatalf("a key not held: %v %+v %s", err, o, out)
	}
	plain := []byte(`{"contract_id":"c1","option":"1/2"}`)
	if out, err := domain.SealData(keys, "10001234567", uuid.New(), plain, signedFields); err != nil || !bytes.Equal(out, plain) {
		t.Fatalf("nothing personal to seal: %s %v", out, err)
	}
	if out, o, err := domain.OpenData(keys, []byte(signed), signedFields); err != nil || o != nil || !bytes.Equal(out, []byte(signed)) {
		t.Fatalf("data recorded in clear opens as is: %s %+v %v", out, o, err)
	}
	// A name given twice is refused, not collapsed into one the strict
	// decoding would accept.
	twice := bytes.Replace(sealed, []byte(`"option":"1/2"`), []byte(`"option":"1/2","option":"1"`), 1)
	if _, _, err := domain.OpenData(keys, twice, signedFields); err == nil {
		t.Fatal("data with a name given twice opened")
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// What sealing and opening an event cost (docs/benchmarks.md): a
// signature's two fields, the keys in memory.
func BenchmarkPersonal(b *testing.B) {
	keys, event := newRing(), uuid.New()
	sealed, _ := domain.SealData(keys, "10001234567", event, []byte(signed), signedFields)
	b.Run("seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			domain.SealData(keys, "10001234567", event, []byte(signed), signedFields)
		}
	})
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			domain.OpenData(keys, sealed, signedFields)
		}
	})
	b.Run("not_sealed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			domain.OpenData(keys, []byte(signed), signedFields)
		}
	})
}
