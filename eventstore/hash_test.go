package eventstore_test

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/google/uuid"
)

// The canonical encoding is a contract with every chain already stored:
// changing it makes them fail Verify. These tests pin it twice: against the
// encoding written out from its documentation, and against fixed digests.

func hashFixture(data string) eventstore.Envelope {
	var prev eventstore.Hash
	for i := range prev {
		prev[i] = byte(i)
	}
	return eventstore.Envelope{
		EventID:       uuid.MustParse("6f1c2a8e-3b4d-5e6f-8a9b-0c1d2e3f4a5b"),
		Stream:        "cpts-contract-7d2f",
		Revision:      300,
		Position:      123456, // not covered
		Type:          "PaymentDecided",
		SchemaVersion: 2,
		OccurredOn:    "2024-06-30",
		RecordedAt:    time.Date(2024, 7, 1, 8, 30, 0, 123456000, time.UTC),
		Actor:         "cpam-44",
		CommandID:     "cmd-1",
		CorrelationID: "corr-1",
		CausationID:   "",
		Data:          []byte(data),
		PrevHash:      prev,
	}
}

func documentedHash(e *eventstore.Envelope) eventstore.Hash {
	b := append([]byte(nil), e.PrevHash[:]...)
	for _, f := range []string{e.EventID.String(), e.Stream, "300", e.Type, "2", e.OccurredOn,
		"2024-07-01T08:30:00.123456Z", e.Actor, e.CommandID, e.CorrelationID, e.CausationID, string(e.Data)} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return sha256.Sum256(b)
}

func TestComputeHashFollowsTheCanonicalEncoding(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"small", `{"amount":"75375.00"}`, "6a6e3cd0dcc687c5ffa9d3a08f32a14b1270b6e96d3fb58fcd2d27b4525c68d0"},
		{"over 1 KiB", `{"reason":"` + strings.Repeat("x", 3000) + `"}`, "4014adc6fa7bc9456f4b167e679a520cf29e6f960cf5873f459b51dd68419532"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := hashFixture(tc.data)
			got := eventstore.ComputeHash(e.PrevHash, &e)
			if want := documentedHash(&e); got != want {
				t.Fatalf("ComputeHash = %s, the documented encoding gives %s", got, want)
			}
			if got.String() != tc.want {
				t.Fatalf("ComputeHash = %s, pinned %s", got, tc.want)
			}
			e.Position++
			if eventstore.ComputeHash(e.PrevHash, &e) != got {
				t.Fatal("the hash covers the global position; it must not")
			}
		})
	}
}

func BenchmarkComputeHash(b *testing.B) {
	e := hashFixture(`{"payment_id":"9b0c8f5e-8d0f-5f0e-9a43-2d8f3b1c0a11","kind":"annual_balance","contract_year":2,` +
		`"due_on":"2021-12-01","decided_on":"2022-01-01","status":"decided","amount":"75375.00","rulebook":"aci-cpts-2019",` +
		`"lines":[{"component":"operating","amount":"60000.00"},{"mission":"access","component":"fixed","amount":"29500.00"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		eventstore.ComputeHash(e.PrevHash, &e)
	}
}
