package notary_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/notary"
)

// aPaymentProof returns the line of JSON of a genuine inclusion proof of a
// payment of 60000.00, with its verifier.
func aPaymentProof(t *testing.T) (string, note.Verifier) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	tree := openTree(t, dir)
	data := json.RawMessage(`{"payment_id":"p1","kind":"signature","amount":"60000.00"}`)
	// A fixed id whose first eight digits hold letters: the upper-case case
	// below changes them (a random id of eight decimal digits, one in 43,
	// left the proof unchanged and failed the test).
	id := uuid.MustParse("0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e81")
	if _, err := s.Append(ctx, "cpts-strict", eventstore.NoStream(), []eventstore.EventData{{ID: id, Type: "PaymentDecided", OccurredOn: "2020-10-01", Data: data}}); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, s, 1, 3)
	signer, verifier := keys(t, "strict-test")
	st, err := tree.Checkpoint(ctx, s, signer, "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := tree.ProveEvent(ctx, s, id, []byte(st.Note))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := notary.MarshalProof(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(raw)), verifier
}

// A proof is decoded strictly: the forgery of the red team (a second
// member "DATA" holding the genuine event's data, "data" changed to a
// payment of 160000.00, which encoding/json v1 hashed under one name and a
// reader read under the other) is refused, and so is every other document
// whose reading is ambiguous. The genuine proof verifies and says what it
// vouches for.
func TestProofsAreDecodedStrictly(t *testing.T) {
	genuine, verifier := aPaymentProof(t)
	res, err := notary.VerifyProof([]byte(genuine), verifier)
	if err != nil {
		t.Fatalf("the genuine proof: %v", err)
	}
	if res.Event == nil || res.Event.Type != "PaymentDecided" || res.Amount != "60000.00" || res.Event.OccurredOn != "2020-10-01" {
		t.Fatalf("what the proof vouches for: %+v amount %q", res.Event, res.Amount)
	}
	const data = `"data":{"payment_id":"p1","kind":"signature","amount":"60000.00"}`
	if !strings.Contains(genuine, data) {
		t.Fatalf("the proof does not hold the data as expected:\n%s", genuine)
	}
	forged := strings.Replace(genuine, data, `"DATA":{"payment_id":"p1","kind":"signature","amount":"60000.00"},"data":{"payment_id":"p1","kind":"signature","amount":"160000.00"}`, 1)
	swapped := strings.Replace(genuine, data, `"data":{"payment_id":"p1","kind":"signature","amount":"160000.00"},"DATA":{"payment_id":"p1","kind":"signature","amount":"60000.00"}`, 1)
	for name, doc := range map[string]string{
		"a second member DATA, data forged":                      forged,
		"a second member DATA after the forged data":             swapped,
		"data named twice":                                       strings.Replace(genuine, data, data+`,`+strings.Replace(data, "60000.00", "160000.00", 1), 1),
		"amount named twice inside the data":                     strings.Replace(genuine, `"amount":"60000.00"`, `"amount":"60000.00","amount":"160000.00"`, 1),
		"a member in another case":                               strings.Replace(genuine, `"leaf_index"`, `"Leaf_Index"`, 1),
		"an unknown member":                                      strings.Replace(genuine, `"leaf_index"`, `"note":"trust me","leaf_index"`, 1),
		"an unknown member of the event":                         strings.Replace(genuine, `"stream"`, `"amount":"160000.00","stream"`, 1),
		"an event id in upper case":                              strings.Replace(genuine, `"event_id":"`, `"event_id":"`+strings.ToUpper(res.EventID.String()[:8]), 1),
		"invalid UTF-8":                                          strings.Replace(genuine, `"signature"`, "\"sign\xffature\"", 1),
		"both an event and a consistency path":                   strings.Replace(genuine, `"leaf_index"`, `"consistency":[],"leaf_index"`, 1),
		"two documents":                                          genuine + genuine,
		"the event's data changed, its hash left (not the hash)": strings.Replace(genuine, "60000.00", "60000.01", 1),
	} {
		t.Run(name, func(t *testing.T) {
			if name == "an event id in upper case" {
				doc = strings.Replace(doc, res.EventID.String()[:8], "", 1)
			}
			if doc == genuine {
				t.Fatal("the test did not change the proof")
			}
			_, err := notary.VerifyProof([]byte(doc), verifier)
			if !errors.Is(err, notary.ErrInvalidProof) {
				t.Fatalf("accepted (%v):\n%s", err, doc)
			}
		})
	}
}

// A checkpoint's body is exactly three lines: the ledger signs no
// extension line, so one is refused rather than shown unchecked.
func TestCheckpointBodiesAreStrict(t *testing.T) {
	good := "ledger.cpts.local/x\n4\nnRyPsY37kG1iw6DFpqO9KP24IalaT3vY4Hs5S7QEsGQ=\n"
	if _, err := notary.ParseCheckpoint(good); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{good + "extension\n", good + "\n", "ledger.cpts.local/x\n04\nnRyPsY37kG1iw6DFpqO9KP24IalaT3vY4Hs5S7QEsGQ=\n",
		"ledger.cpts.local/x\n4\nnRyPsY37kG1iw6DFpqO9KP24IalaT3vY4Hs5S7QEsGQ\n", "\n4\nnRyPsY37kG1iw6DFpqO9KP24IalaT3vY4Hs5S7QEsGQ=\n"} {
		if _, err := notary.ParseCheckpoint(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
